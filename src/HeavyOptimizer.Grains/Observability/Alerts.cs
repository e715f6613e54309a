using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HeavyOptimizer.Grains.Observability;

/// <summary>The runbook's escalation matrix.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AlertSeverity>))]
public enum AlertSeverity
{
    /// <summary>System down: 15 minutes, ops team, backend lead, DevOps manager.</summary>
    P1 = 1,

    /// <summary>Performance degradation: 1 hour, backend team, system admin.</summary>
    P2 = 2,

    /// <summary>Data validation issues: 4 hours, backend team.</summary>
    P3 = 3,

    /// <summary>Migration phase issues: 24 hours, backend team.</summary>
    P4 = 4,
}

/// <summary>One alert as posted to the webhook: what happened, how bad, where, and the figures behind it.</summary>
public sealed record Alert(
    string Kind, AlertSeverity Severity, string Summary, DateTimeOffset At, string Silo, IReadOnlyDictionary<string, string> Details);

/// <summary>Where alerts go besides the log (section <c>Alerts</c>; <c>hopt silo --webhook URL</c>).</summary>
public sealed class AlertOptions
{
    /// <summary>An http(s) URL each alert is POSTed to as JSON; null (the default): alerts are only logged.</summary>
    public string? Webhook { get; set; }

    /// <summary>Attempts per alert before it is given up (logged); default 6.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The wait before the first retry, doubled after each; default 1 s.</summary>
    public TimeSpan FirstRetry { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Alerts waiting to be posted at most; the oldest is dropped (and the drop logged) beyond it. Default 1,000.</summary>
    public int QueueLimit { get; set; } = 1000;

    /// <summary>What is wrong with these settings, one line each.</summary>
    public IEnumerable<string> Problems()
    {
        if (Webhook is { Length: > 0 } url && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
        {
            yield return $"Webhook '{url}': expected an http or https URL";
        }

        if (MaxAttempts is < 1 or > 100)
        {
            yield return $"MaxAttempts {MaxAttempts}: expected 1..100";
        }

        if (FirstRetry <= TimeSpan.Zero || FirstRetry > TimeSpan.FromMinutes(10))
        {
            yield return $"FirstRetry {FirstRetry}: expected more than 0 and at most 10 minutes";
        }

        if (QueueLimit is < 1 or > 1_000_000)
        {
            yield return $"QueueLimit {QueueLimit}: expected 1..1000000";
        }
    }
}

/// <summary>
/// The silo's alert sink: every alert is logged at once (ERROR for P1-P2, WARNING for P3-P4) and, with a webhook,
/// queued and POSTed by a background loop, retried with doubling waits; raising never waits for the network, so the
/// controller is never held up by a slow or dead receiver.
/// </summary>
public sealed partial class Alerts(IOptions<AlertOptions> options, TimeProvider time, ILogger<Alerts> logger, ILocalSiloDetails? silo = null) : BackgroundService
{
    private readonly Channel<Alert> _queue = Channel.CreateBounded<Alert>(
        new BoundedChannelOptions(Math.Max(1, options.Value.QueueLimit)) { FullMode = BoundedChannelFullMode.DropOldest }, dropped => LogDropped(logger, dropped.Kind, dropped.Summary));

    /// <summary>Alerts posted successfully (for tests and the page).</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    private long _delivered;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Logs the alert and, with a webhook, queues it for posting.</summary>
    public void Raise(string kind, AlertSeverity severity, string summary, IReadOnlyDictionary<string, string>? details = null)
    {
        var alert = new Alert(kind, severity, summary, time.GetUtcNow(), silo?.Name ?? Environment.MachineName, details ?? new Dictionary<string, string>());
        var figures = string.Join(", ", alert.Details.Select(d => $"{d.Key}={d.Value}"));
        if (severity <= AlertSeverity.P2)
        {
            LogSevere(kind, severity, summary, figures);
        }
        else
        {
            LogMild(kind, severity, summary, figures);
        }

        if (options.Value.Webhook is { Length: > 0 })
        {
            _queue.Writer.TryWrite(alert);
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.Webhook is not { Length: > 0 } url)
        {
            return;
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await foreach (var alert in _queue.Reader.ReadAllAsync(stoppingToken))
        {
            var wait = options.Value.FirstRetry;
            for (var attempt = 1; ; attempt++)
            {
                string problem;
                try
                {
                    // A whole body with its length (some receivers refuse chunked uploads).
                    using var body = new StringContent(JsonSerializer.Serialize(alert, Json), Encoding.UTF8, "application/json");
                    using var response = await http.PostAsync(url, body, stoppingToken);
                    if (response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref _delivered);
                        break;
                    }

                    problem = $"HTTP {(int)response.StatusCode}";
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
                {
                    problem = Core.Messages.OneLine(e.Message);
                }

                if (attempt >= options.Value.MaxAttempts)
                {
                    LogGaveUp(alert.Kind, attempt, problem);
                    break;
                }

                LogRetry(alert.Kind, attempt, problem, wait.TotalSeconds);
                await Task.Delay(wait, time, stoppingToken);
                wait *= 2;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "ALERT {Severity} {Kind}: {Summary} ({Figures})")]
    private partial void LogSevere(string kind, AlertSeverity severity, string summary, string figures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ALERT {Severity} {Kind}: {Summary} ({Figures})")]
    private partial void LogMild(string kind, AlertSeverity severity, string summary, string figures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {Kind} not delivered (attempt {Attempt}: {Problem}); retrying in {Seconds} s")]
    private partial void LogRetry(string kind, int attempt, string problem, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {Kind} given up after {Attempts} attempts: {Problem}")]
    private partial void LogGaveUp(string kind, int attempts, string problem);

    [LoggerMessage(Level = LogLevel.Error, Message = "Alert {Kind} dropped, the webhook queue is full: {Summary}")]
    private static partial void LogDropped(ILogger logger, string kind, string summary);
}
