namespace HeavyOptimizer.Silo;

/// <summary>Process exit codes shared by every command of hopt and by hopt-silo, and the one-line errors behind them.</summary>
public static class ExitCodes
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int BadInput = 2;
    public const int Cancelled = 130;

    /// <summary>Runs <paramref name="body"/>, turning the known errors into a one-line reason on stderr and an exit code.</summary>
    public static int Guard(TextWriter error, Func<int> body) =>
        GuardAsync(error, () => Task.FromResult(body())).GetAwaiter().GetResult();

    /// <summary>The asynchronous form of <see cref="Guard"/>.</summary>
    public static async Task<int> GuardAsync(TextWriter error, Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (OperationCanceledException)
        {
            error.WriteLine("hopt: cancelled");
            return Cancelled;
        }
        catch (Exception e) when (e is Core.Data.DatasetException or ArgumentException or FormatException or FileNotFoundException or DirectoryNotFoundException
                                       or Abstractions.InvalidJobException)
        {
            error.WriteLine($"hopt: error: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (Exception e) when (Settings(e) is { } invalid)
        {
            error.WriteLine($"hopt: error: settings that cannot work: {string.Join("; ", invalid)}");
            return BadInput;
        }
        catch (Exception e) when (Binding(e) is { } binding)
        {
            error.WriteLine($"hopt: error: settings: {OneLine(binding.Message)}");
            return BadInput;
        }
        catch (Exception e) when (e is Abstractions.MigrationGuardException or Abstractions.AccessDeniedException)
        {
            error.WriteLine($"hopt: refused: {OneLine(e.Message)}");
            return BadInput;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or Backends.BackendException
                                       or System.Data.Common.DbException)
        {
            error.WriteLine($"hopt: failed: {OneLine(e.Message)}");
            return Failure;
        }
        catch (Exception e)
        {
            // Anything else is a fault of hopt itself: still one line, never a stack trace.
            error.WriteLine($"hopt: internal error ({e.GetType().Name}): {OneLine(e.Message)}");
            return Failure;
        }
    }

    /// <summary><paramref name="e"/> and every exception inside it (an aggregate's, an inner one), however deep.</summary>
    private static IEnumerable<Exception> Causes(Exception e) =>
        new[] { e }.Concat(e is AggregateException a ? a.InnerExceptions.SelectMany(Causes) : e.InnerException is { } inner ? Causes(inner) : []);

    /// <summary>Every failure of the options validations a host start failed on, or null when it failed otherwise.</summary>
    private static IReadOnlyList<string>? Settings(Exception e) =>
        Causes(e).OfType<Microsoft.Extensions.Options.OptionsValidationException>().SelectMany(v => v.Failures).ToList() is { Count: > 0 } failures ? failures : null;

    /// <summary>A settings value that does not convert, or a key the settings do not have (the configuration binder's refusals).</summary>
    private static InvalidOperationException? Binding(Exception e) =>
        Causes(e).OfType<InvalidOperationException>().FirstOrDefault(i => i.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase));

    /// <summary>The first line of a message: every error is one line.</summary>
    public static string OneLine(string message) => Core.Messages.OneLine(message);
}
