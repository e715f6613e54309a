using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Jobs;

/// <summary>
/// The folders a silo reads job inputs from (default: the data directory's <c>input/</c>, plus the share's and any
/// <c>--input-root</c>). A path is accepted only when, with every symbolic link resolved, it lies inside one of them,
/// so a caller never makes the silo read a file it has no right to; it is checked without opening the file.
/// </summary>
public sealed class InputRoots
{
    private const int MaxLinks = 40;

    /// <summary>Resolves the roots once.</summary>
    public InputRoots(IEnumerable<string> roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        Roots = roots.Select(r => RealPath(Path.GetFullPath(r))).Distinct(StringComparer.Ordinal).ToArray();
    }

    /// <summary>The roots, resolved.</summary>
    public IReadOnlyList<string> Roots { get; }

    /// <summary>
    /// The real path of <paramref name="path"/> when it is an existing file inside a root; otherwise an
    /// <see cref="InvalidJobException"/> naming the roots (marked <see cref="InvalidJobException.OutsideInputRoots"/> when
    /// it lies outside them, so a client may upload the file instead).
    /// </summary>
    public string Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!Path.IsPathFullyQualified(path))
        {
            throw new InvalidJobException("input", $"input '{path}': give an absolute path as the silos see it, under {string.Join(" or ", Roots)}");
        }

        var real = RealPath(Path.GetFullPath(path));
        if (!Roots.Any(root => Inside(real, root)))
        {
            throw new InvalidJobException("input",
                $"input {path} is outside the cluster's input roots ({string.Join(", ", Roots)}): put the file there, or upload it (hopt submit uploads a local file by default)",
                outsideInputRoots: true);
        }

        if (Directory.Exists(real))
        {
            throw new InvalidJobException("input", $"input {path} is a directory, not a CSV file");
        }

        if (!File.Exists(real))
        {
            throw new InvalidJobException("input", $"input {path}: no such file under the input roots");
        }

        if (!IsRegularFile(real))
        {
            throw new InvalidJobException("input", $"input {path} is not a regular file (a pipe or a device would block or never end)");
        }

        return real;
    }

    /// <summary>Whether <paramref name="path"/> is a regular file, not a FIFO, socket or device (.NET's FileInfo cannot tell them apart).</summary>
    public static bool IsRegularFile(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return File.Exists(path);
        }

        // statx's buffer is the same on every Linux architecture: stx_mode is the 16 bits at offset 28.
        Span<byte> buffer = stackalloc byte[256];
        return Statx(AtCurrentDirectory, path, 0, StatxType, ref buffer[0]) == 0
               && (BitConverter.ToUInt16(buffer[28..30]) & FileTypeMask) == RegularFileType;
    }

    private const int AtCurrentDirectory = -100;
    private const uint StatxType = 1;
    private const int FileTypeMask = 0xF000;
    private const int RegularFileType = 0x8000;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "statx", SetLastError = true)]
    [System.Runtime.InteropServices.DefaultDllImportSearchPaths(System.Runtime.InteropServices.DllImportSearchPath.SafeDirectories)]
    private static extern int Statx(int directory, [System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, ref byte buffer);

    /// <summary>Whether <paramref name="path"/> (full, resolved) is <paramref name="root"/> or lies below it.</summary>
    public static bool Inside(string path, string root)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(root);
        var withSeparator = root.EndsWith(Path.DirectorySeparatorChar) ? root : root + Path.DirectorySeparatorChar;
        return path == root || path.StartsWith(withSeparator, StringComparison.Ordinal);
    }

    /// <summary><paramref name="fullPath"/> with every symbolic link along it resolved; parts that do not exist are kept as written.</summary>
    public static string RealPath(string fullPath)
    {
        ArgumentNullException.ThrowIfNull(fullPath);
        var links = 0;
        var pending = new Stack<string>(Path.GetFullPath(fullPath)[Path.GetPathRoot(fullPath)!.Length..]
            .Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse());
        var current = Path.GetPathRoot(fullPath)!;
        while (pending.TryPop(out var part))
        {
            var next = Path.Combine(current, part);
            if (new FileInfo(next).LinkTarget is { } target)
            {
                if (++links > MaxLinks)
                {
                    throw new InvalidJobException("input", $"{fullPath}: too many symbolic links");
                }

                var resolved = Path.GetFullPath(Path.IsPathRooted(target) ? target : Path.Combine(current, target));
                foreach (var piece in resolved[Path.GetPathRoot(resolved)!.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries).Reverse())
                {
                    pending.Push(piece);
                }

                current = Path.GetPathRoot(resolved)!;
                continue;
            }

            current = next;
        }

        return current;
    }
}
