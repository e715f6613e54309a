using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// The migration beyond the runbook, against a real silo process: backfill validation, a rollout that promotes
/// across a silo restart, webhook alerts received by a listener in the test, <c>/metrics</c> scraped after jobs ran,
/// <c>/readyz</c> and <c>/api/status</c>, and the migration page rendered by a real browser (headless Chromium, which
/// <c>.ci/run</c> installs; skipped by name where it is missing).
/// </summary>
public sealed class MigrationPageTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly HttpListener _hook = new();
    private readonly ConcurrentQueue<JsonNode> _alerts = new();
    private readonly RunningSilo _silo;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };

    public MigrationPageTests()
    {
        var port = SiloProcess.FreePort();
        _hook.Prefixes.Add($"http://127.0.0.1:{port}/hook/");
        _hook.Start();
        _ = Task.Run(ListenAsync);
        _silo = new RunningSilo(Path.Combine(_dir.Path, "silo"), null, "--input-root", _dir.Path, "--webhook", $"http://127.0.0.1:{port}/hook/").Start();
    }

    public void Dispose()
    {
        _silo.Dispose();
        _hook.Close();
        _http.Dispose();
        _dir.Dispose();
    }

    private async Task ListenAsync()
    {
        while (_hook.IsListening)
        {
            try
            {
                var context = await _hook.GetContextAsync();
                using var reader = new StreamReader(context.Request.InputStream);
                _alerts.Enqueue(JsonNode.Parse(await reader.ReadToEndAsync())!);
                context.Response.StatusCode = 200;
                context.Response.Close();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
        }
    }

    private JsonNode Json(params string[] args)
    {
        var outcome = _silo.Run([.. args, "--json"]);
        Assert.True(outcome.ExitCode == 0, $"hopt {string.Join(' ', args)}: {outcome.Error}");
        return JsonNode.Parse(outcome.Out)!;
    }

    private string Url(string path) => $"http://127.0.0.1:{_silo.DashboardPort}{path}";

    private void Jobs(string input, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Json("submit", "--input", input, "-n", "10", "--preset", "legacy", "--max-evaluations", "200", "--job-id", $"{prefix}{i}", "--wait");
        }
    }

    private static void Until(Func<bool> condition, string what, int seconds = 30)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(seconds), $"not within {seconds} s: {what}");
            Thread.Sleep(250);
        }
    }

    [Fact]
    public async Task Backfill_rollout_across_a_restart_alerts_metrics_and_the_page_work_on_a_live_silo()
    {
        var input = _dir.File("page.csv", Some.Csv(Some.RandomMatrix(60, 20, 5)));
        Jobs(input, "before-", 2);

        // Backfill: the two completed HeavyDB jobs re-run in shadow and compared, before any live Parquet job ran.
        var validated = Json("validate", "--recent", "2");
        Assert.Equal(2, (int)validated["matched"]!);
        Assert.All(validated["jobs"]!.AsArray(), j => Assert.Contains(j!["comparisons"]!.AsArray(), c => (string)c!["name"]! == "data_path"));
        var status = Json("status");
        Assert.Equal((2, 2), ((int)status["backfill"]!["compared"]!, (int)status["backfill"]!["matched"]!));
        Assert.Equal(0, (int)status["dual_write_jobs"]!);

        // dual_write; the cut_over guard refuses (an alert, P4), then counts the backfill when told to, audited as such.
        Assert.Equal(0, _silo.Run("phase", "dual_write", "--reason", "mirror").ExitCode);
        Assert.Equal(2, _silo.Run("phase", "cut_over", "--reason", "too soon").ExitCode);
        Until(() => _alerts.Any(a => (string)a["kind"]! == "guard_refused" && (string)a["severity"]! == "P4"), "a guard_refused alert at the webhook");
        Jobs(input, "mirrored-", 2);

        // A rollout from cut_over at 50 %, then 100 %; each step needs one Parquet job. A silo restart mid-way keeps it.
        Assert.Equal(0, _silo.Run("phase", "cut_over", "--force", "--reason", "test").ExitCode);
        var start = _silo.Run("rollout", "start", "--steps", "50,100", "--min-jobs", "1", "--max-p95", "60s", "--reason", "progressive");
        Assert.True(start.ExitCode == 0, start.Error);
        Assert.Equal(2, _silo.Run("rollout", "start", "--steps", "10", "--reason", "twice").ExitCode);
        var n = 0;
        while ((int)Json("rollout", "status")["step"]! == 0)
        {
            Assert.True(n < 40, "the rollout never promoted from 50 %");
            Jobs(input, $"step1-{n++}-", 1);
        }

        Assert.Equal(100, (int)Json("status")["config"]!["traffic_percent_parquet"]!);
        _silo.Stop();
        _silo.Start();
        var resumed = Json("rollout", "status");
        Assert.Equal(("running", 1), ((string)resumed["stage"]!, (int)resumed["step"]!));
        Jobs(input, "step2-", 1);
        var finished = Json("rollout", "status");
        Assert.Equal("finished", (string)finished["stage"]!);
        Assert.Contains("left to a person", (string)finished["analysis"]!, StringComparison.Ordinal);
        Assert.Equal("cut_over", (string)Json("status")["config"]!["phase"]!);

        // Probes and data.
        Until(() => _http.GetAsync(Url("/readyz")).Result.StatusCode == HttpStatusCode.OK, "/readyz answering 200");
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(Url("/healthz"))).StatusCode);
        Until(() => (string?)JsonNode.Parse(_http.GetStringAsync(Url("/api/status")).Result)!["status"]!["rollout"]?["stage"] == "Finished", "/api/status showing the finished rollout");

        // Metrics, scraped after the jobs ran on this silo (the restart started the counters afresh: step2- ran since).
        var metrics = await _http.GetStringAsync(Url("/metrics"));
        Assert.Matches("hopt_jobs_total\\{[^}]*backend=\"parquet\"[^}]*state=\"completed\"[^}]*\\} [1-9]", metrics);
        Assert.Matches("hopt_job_duration_seconds_count\\{[^}]*backend=\"parquet\"[^}]*\\} [1-9]", metrics);
        Assert.Matches("hopt_migration_phase\\{[^}]*phase=\"cut_over\"[^}]*\\} 2", metrics);
        Assert.Matches("hopt_migration_traffic_percent\\{[^}]*\\} 100", metrics);
        Assert.Contains("orleans_", metrics, StringComparison.Ordinal);

        // The page in a real browser: phase, a drawn chart series, an audit entry; and a screenshot.
        var chromium = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome" }.FirstOrDefault(File.Exists);
        Skip.If(chromium is null, "Chromium is not installed (.ci/run installs it with apt)");
        var dom = Browser(chromium!, "--dump-dom", Url("/migration"));
        Assert.Contains("<span id=\"phase\" class=\"phase\">cut_over</span>", dom, StringComparison.Ordinal);
        Assert.Contains("class=\"series\"", dom, StringComparison.Ordinal);
        Assert.Contains("rollout finished", dom, StringComparison.Ordinal);
        Assert.Contains(">finished<", dom, StringComparison.Ordinal);
        var shot = Path.Combine(AppContext.BaseDirectory, "migration-page.png");
        Browser(chromium!, $"--screenshot={shot}", "--window-size=1400,1700", Url("/migration"));
        Assert.True(new FileInfo(shot).Length > 10_000, "the screenshot is missing or empty");
    }

    /// <summary>Headless Chromium on <paramref name="args"/>, given 6 s of virtual time for the page's scripts; its stdout.</summary>
    private static string Browser(string chromium, params string[] args)
    {
        var start = new ProcessStartInfo(chromium) { RedirectStandardOutput = true, RedirectStandardError = true };
        string[] all = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--virtual-time-budget=6000", .. args];
        foreach (var arg in all)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "Chromium did not finish within 60 s");
        Assert.True(process.ExitCode == 0, $"Chromium exited {process.ExitCode}: {error.Result}");
        return output.Result;
    }
}
