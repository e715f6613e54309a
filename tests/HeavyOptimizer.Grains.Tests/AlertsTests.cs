using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using HeavyOptimizer.Grains.Observability;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HeavyOptimizer.Grains.Tests;

/// <summary>The webhook sink against a local HTTP listener: delivery as JSON, retries with backoff, and raising that never waits.</summary>
public sealed class AlertsTests : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly ConcurrentQueue<JsonNode> _received = new();
    private readonly string _url;
    private int _failuresLeft;
    private int _requests;

    public AlertsTests()
    {
        _url = $"http://127.0.0.1:{FreePort()}/alerts/";
        _listener.Prefixes.Add(_url);
        _listener.Start();
        _ = Task.Run(async () =>
        {
            while (_listener.IsListening)
            {
                try
                {
                    var context = await _listener.GetContextAsync();
                    Interlocked.Increment(ref _requests);
                    using var reader = new StreamReader(context.Request.InputStream);
                    var body = await reader.ReadToEndAsync();
                    var fail = Interlocked.Decrement(ref _failuresLeft) >= 0;
                    if (!fail)
                    {
                        _received.Enqueue(JsonNode.Parse(body)!);
                    }

                    context.Response.StatusCode = fail ? 503 : 200;
                    context.Response.Close();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }
            }
        });
    }

    public void Dispose() => _listener.Close();

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static Alerts Sink(string url, int attempts = 5) =>
        new(Options.Create(new AlertOptions { Webhook = url, MaxAttempts = attempts, FirstRetry = TimeSpan.FromMilliseconds(50) }), TimeProvider.System, NullLogger<Alerts>.Instance);

    private static void Until(Func<bool> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), what);
            Thread.Sleep(20);
        }
    }

    [Fact]
    public async Task An_alert_is_posted_as_json_with_its_severity_after_retries_through_failures()
    {
        _failuresLeft = 2;
        using var sink = Sink(_url);
        await sink.StartAsync(CancellationToken.None);
        sink.Raise("automatic_rollback", AlertSeverity.P2, "rolled back to heavydb_only", new Dictionary<string, string> { ["sequence"] = "7" });
        Until(() => sink.Delivered == 1, "the alert was not delivered after two refusals");
        Assert.Equal(3, _requests);
        var alert = Assert.Single(_received);
        Assert.Equal(("automatic_rollback", "P2", "rolled back to heavydb_only", "7"),
            ((string)alert["kind"]!, (string)alert["severity"]!, (string)alert["summary"]!, (string)alert["details"]!["sequence"]!));
        await sink.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Raising_never_waits_for_a_dead_receiver()
    {
        using var sink = Sink($"http://127.0.0.1:{FreePort()}/nobody/", attempts: 3);
        await sink.StartAsync(CancellationToken.None);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < 100; i++)
        {
            sink.Raise("failure_burst", AlertSeverity.P2, $"burst {i}");
        }

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(1), $"raising 100 alerts took {clock.Elapsed}");
        await sink.StopAsync(CancellationToken.None);
        Assert.Equal(0, sink.Delivered);
    }

    [Fact]
    public void Settings_that_cannot_work_are_named()
    {
        var problems = new AlertOptions { Webhook = "ftp://x", MaxAttempts = 0, FirstRetry = TimeSpan.Zero, QueueLimit = 0 }.Problems().ToList();
        Assert.Equal(4, problems.Count);
        Assert.Contains(problems, p => p.Contains("ftp://x", StringComparison.Ordinal));
        Assert.Empty(new AlertOptions().Problems());
    }
}

public class FailureBurstTests
{
    [Fact]
    public void Five_failures_in_a_minute_report_once_per_minute_and_spread_failures_never()
    {
        var burst = new FailureBurst();
        var t = new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero);
        int? At(double seconds) => burst.Add(t.AddSeconds(seconds));
        Assert.All(new[] { 0, 1, 2, 3 }.Select(s => At(s)), r => Assert.Null(r));
        Assert.Equal(5, At(4));
        Assert.Null(At(5));
        Assert.Null(At(50));
        // A minute after the report, five failures in the window again: reported again.
        Assert.Null(At(65));
        Assert.Null(At(66));
        Assert.Null(At(67));
        Assert.Equal(5, At(68));

        var spread = new FailureBurst();
        Assert.All(Enumerable.Range(0, 20).Select(i => spread.Add(t.AddSeconds(i * 20))), r => Assert.Null(r));
    }
}
