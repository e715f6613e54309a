using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// `hopt heavydb-standin` (HeavyDB's protocol over the embedded engine, in its own process: not HeavyDB) answering the
/// HeavyDB backend over real sockets, in both protocols, from the command line and from a silo's jobs; the output is
/// byte for byte the in-process engine's.
/// </summary>
public sealed class HeavyDbStandInCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly int _binary = SiloProcess.FreePort();
    private readonly int _http = SiloProcess.FreePort();
    private readonly Process _server;

    public HeavyDbStandInCliTests()
    {
        var lines = new ConcurrentQueue<string>();
        _server = Hopt.Start(lines.Enqueue, "heavydb-standin", "--port", $"{_binary}", "--http-port", $"{_http}", "--data-dir", Path.Combine(_dir.Path, "server"));
        var clock = Stopwatch.StartNew();
        while (!lines.Any(l => l.StartsWith("http:", StringComparison.Ordinal)))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(60) && !_server.HasExited, $"the stand-in did not start: {string.Join('|', lines)}");
            Thread.Sleep(50);
        }
    }

    public void Dispose()
    {
        SiloProcess.Kill(_server);
        _dir.Dispose();
    }

    private string Url(string protocol) => $"heavydb://admin:HyperInteractive@127.0.0.1:{(protocol == "http" ? _http : _binary)}/heavyai?protocol={protocol}";

    [Fact]
    public void Both_protocols_give_the_engines_output_from_the_command_line_and_in_a_cluster_job()
    {
        var inputs = Directory.CreateDirectory(Path.Combine(_dir.Path, "in")).FullName;
        var input = Path.Combine(inputs, "sample.csv");
        File.WriteAllText(input, Some.Csv(Some.RandomMatrix(120, 40, 17)));
        string[] search = ["-n", "10", "--seed", "3", "--max-evaluations", "400"];
        JsonNode Optimize(params string[] backend)
        {
            var outcome = Hopt.Run(["optimize", "--input", input, .. search, "--json", "--output", Path.Combine(_dir.Path, "runs"), .. backend]);
            Assert.True(outcome.ExitCode == 0, outcome.Error);
            return JsonNode.Parse(outcome.Out)!;
        }

        var core = Optimize("--backend", "core");
        var metrics = File.ReadAllBytes(Path.Combine((string)core["run_directory"]!, "strategy_metrics.csv"));
        foreach (var protocol in new[] { "binary", "http" })
        {
            var heavy = Optimize("--backend", "heavydb", "--heavydb", Url(protocol));
            Assert.Equal(metrics, File.ReadAllBytes(Path.Combine((string)heavy["run_directory"]!, "strategy_metrics.csv")));
            Assert.Equal(core["best"]!.ToJsonString(), heavy["best"]!.ToJsonString());
            Assert.Contains($"HeavyDB at heavydb://admin:***@127.0.0.1:", (string)heavy["backend_check"]!["engine"]!, StringComparison.Ordinal);
            Assert.True((double)heavy["backend_check"]!["metrics_max_relative_difference"]! <= 1e-12);

            using var silo = new RunningSilo(Path.Combine(_dir.Path, $"silo-{protocol}"), null, "--heavydb", Url(protocol), "--input-root", inputs).Start();
            var submitted = silo.Run(["submit", "--input", input, .. search, "--job-id", $"standin-{protocol}", "--wait", "--json"]);
            Assert.True(submitted.ExitCode == 0, submitted.Error);
            var job = JsonNode.Parse(submitted.Out)!;
            Assert.Equal(("completed", "heavydb"), ((string)job["state"]!, (string)job["result"]!["backend"]!));
            Assert.Equal(metrics, File.ReadAllBytes(Path.Combine((string)job["result"]!["run_directory"]!, "strategy_metrics.csv")));
            Assert.Equal((double)core["best"]!["fitness"]!, (double)job["result"]!["best_fitness"]!);
        }
    }
}
