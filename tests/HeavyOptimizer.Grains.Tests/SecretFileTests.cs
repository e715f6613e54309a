using HeavyOptimizer.Abstractions;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>Secrets are read only from files nobody else can read, swap or redirect.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class SecretFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_private_file_is_read_and_a_readable_linked_or_swappable_one_is_refused()
    {
        var secret = Path.Combine(_dir.Path, "db.conn");
        SecretFiles.WritePrivate(secret, "Host=x;Password=p\n"u8);
        Assert.Equal("Host=x;Password=p", SecretFiles.ReadText(secret, "--postgres-file"));

        var link = Path.Combine(_dir.Path, "link.conn");
        File.CreateSymbolicLink(link, secret);
        Assert.Contains("is a symbolic link", Assert.Throws<ArgumentException>(() => SecretFiles.ReadText(link, "--postgres-file")).Message, StringComparison.Ordinal);

        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        Assert.Contains("can be read by others", Assert.Throws<ArgumentException>(() => SecretFiles.ReadText(secret, "--postgres-file")).Message, StringComparison.Ordinal);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        var open = Path.Combine(_dir.Path, "open");
        Directory.CreateDirectory(open);
        var inOpen = Path.Combine(open, "db.conn");
        SecretFiles.WritePrivate(inOpen, "x"u8);
        File.SetUnixFileMode(open, (UnixFileMode)0b111_111_111);
        Assert.Contains("its folder can be changed by others", Assert.Throws<ArgumentException>(() => SecretFiles.ReadText(inOpen, "--postgres-file")).Message, StringComparison.Ordinal);
        File.SetUnixFileMode(open, (UnixFileMode)0b111_111_111 | UnixFileMode.StickyBit);
        Assert.Equal("x", SecretFiles.ReadText(inOpen, "--postgres-file"));
    }
}
