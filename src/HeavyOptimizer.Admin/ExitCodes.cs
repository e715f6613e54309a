namespace HeavyOptimizer.Admin;

/// <summary>Process exit codes shared by every command.</summary>
internal static class ExitCodes
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
            error.WriteLine($"hopt: error: settings that cannot work: {string.Join("; ", invalid.Failures)}");
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

    /// <summary>A settings value that does not convert, or a key the settings do not have (the configuration binder's refusals), however wrapped.</summary>
    private static InvalidOperationException? Binding(Exception e) => e switch
    {
        InvalidOperationException i when i.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase) => i,
        AggregateException a => a.InnerExceptions.Select(Binding).FirstOrDefault(b => b is not null),
        { InnerException: { } inner } => Binding(inner),
        _ => null,
    };

    /// <summary>The options validation a host start failed on (it may come wrapped), or null.</summary>
    private static Microsoft.Extensions.Options.OptionsValidationException? Settings(Exception e) => e switch
    {
        Microsoft.Extensions.Options.OptionsValidationException v => v,
        AggregateException a => a.InnerExceptions.Select(Settings).FirstOrDefault(v => v is not null) is { } first
            ? new Microsoft.Extensions.Options.OptionsValidationException(first.OptionsName, first.OptionsType,
                a.InnerExceptions.SelectMany(i => Settings(i)?.Failures ?? []))
            : null,
        _ => null,
    };

    /// <summary>The first line of a message: every error is one line.</summary>
    public static string OneLine(string message) => Core.Messages.OneLine(message);
}
