namespace HeavyOptimizer.Admin;

/// <summary>
/// Whether the command's output goes to a terminal: the process's own, or, for a command <c>hopt agent</c> runs for
/// another process, that process's (the agent's own streams say nothing about where the answer is shown).
/// </summary>
internal static class Terminal
{
    /// <summary>Set by the agent for the command it runs: the caller's stdout and stderr redirected or not.</summary>
    public static (bool Output, bool Error)? Caller { get; set; }

    public static bool OutputRedirected => Caller?.Output ?? Console.IsOutputRedirected;

    public static bool ErrorRedirected => Caller?.Error ?? Console.IsErrorRedirected;
}
