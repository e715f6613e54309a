namespace HeavyOptimizer.Backends;

/// <summary>Where backends keep their stores unless told otherwise.</summary>
public static class DataDirectories
{
    /// <summary>The environment variable that overrides <see cref="Default"/>.</summary>
    public const string EnvironmentVariable = "HOPT_DATA_DIR";

    /// <summary><c>HOPT_DATA_DIR</c> when set, else the user's data directory plus <c>heavy-optimizer</c> (e.g. <c>~/.local/share/heavy-optimizer</c>).</summary>
    public static string Default =>
        Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.Create), "heavy-optimizer");
}
