namespace HeavyOptimizer.Abstractions;

/// <summary>
/// Secrets (connection strings, URLs with passwords, private keys) come from files that only their owner can read:
/// a file that its group or others may read, a symbolic link, or a file in a folder others may write is refused,
/// naming the file and the fix.
/// </summary>
public static class SecretFiles
{
    private const UnixFileMode Shared = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="path"/> exists and only its owner may read it.</summary>
    public static void CheckPrivate(string path, string what)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
        {
            throw new ArgumentException($"{what} {path}: no such file");
        }

        if (new FileInfo(path).LinkTarget is not null)
        {
            throw new ArgumentException($"{what} {path} is a symbolic link: give the file itself (a link can be pointed elsewhere by whoever owns it)");
        }

        if (OperatingSystem.IsWindows())
        {
            return;
        }

        if ((File.GetUnixFileMode(path) & Shared) != 0)
        {
            throw new ArgumentException($"{what} {path} can be read by others (mode {Convert.ToString((int)File.GetUnixFileMode(path), 8)}): chmod 600 {path}");
        }

        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        var mode = File.GetUnixFileMode(folder);
        if ((mode & (UnixFileMode.GroupWrite | UnixFileMode.OtherWrite)) != 0 && (mode & UnixFileMode.StickyBit) == 0)
        {
            throw new ArgumentException($"{what} {path}: its folder can be changed by others (mode {Convert.ToString((int)mode, 8)}), who could swap the file: chmod go-w {folder}");
        }
    }

    /// <summary>The text of a private file, trimmed (a trailing newline is not part of a secret).</summary>
    public static string ReadText(string path, string what)
    {
        CheckPrivate(path, what);
        var text = File.ReadAllText(path).Trim();
        return text.Length > 0 ? text : throw new ArgumentException($"{what} {path} is empty");
    }

    /// <summary>Writes <paramref name="content"/> to a new file only its owner can read (mode 600 from the start, never readable in between).</summary>
    public static void WritePrivate(string path, ReadOnlySpan<byte> content)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new FileStream(path, options))
        {
            file.Write(content);
        }

        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
