using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>`--backend` and `hopt dataset` end to end, each backend on a store in a temporary directory.</summary>
public sealed class BackendCliTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private JsonNode Optimize(string input, string backend)
    {
        var outcome = Hopt.Run("optimize", "--input", input, "-n", "20", "--seed", "5", "--backend", backend, "--data-dir", Path.Combine(_dir.Path, "data"),
            "--output", Path.Combine(_dir.Path, "runs-" + backend), "--json");
        Assert.True(outcome.ExitCode == 0, outcome.Error);
        return JsonNode.Parse(outcome.Out)!;
    }

    private void AssertBackendsAgree(string input)
    {
        var results = new[] { "core", "parquet", "heavydb" }.ToDictionary(b => b, b => Optimize(input, b));
        var csv = results.ToDictionary(r => r.Key, r => File.ReadAllBytes(Path.Combine((string)r.Value["run_directory"]!, "strategy_metrics.csv")));

        Assert.Equal(csv["parquet"], csv["heavydb"]);
        Assert.Equal(csv["core"], csv["parquet"]);
        Assert.Equal(results["parquet"]["best"]!["strategies"]!.ToJsonString(), results["heavydb"]["best"]!["strategies"]!.ToJsonString());
        Assert.Equal((double)results["parquet"]["best"]!["fitness"]!, (double)results["heavydb"]["best"]!["fitness"]!);
        foreach (var backend in new[] { "parquet", "heavydb" })
        {
            var json = results[backend];
            Assert.Equal(backend, (string)json["backend"]!);
            Assert.Equal((string)results["core"]["input"]!["fingerprint"]!, (string)json["input"]!["fingerprint"]!);
            Assert.True((double)json["backend_check"]!["metrics_max_relative_difference"]! <= 1e-9);
        }

        Assert.Contains("standing in for HeavyDB", (string)results["heavydb"]["backend_check"]!["engine"]!, StringComparison.Ordinal);
        Assert.Null(results["core"]["backend_check"]);
    }

    [Fact]
    public void Parquet_and_heavydb_give_byte_identical_metrics_and_the_same_portfolio_on_a_sample()
    {
        var input = _dir.File("sample.csv", Some.Csv(Some.RandomMatrix(150, 40, 3)));
        AssertBackendsAgree(input);
    }

    [SkippableFact]
    public void Parquet_and_heavydb_give_byte_identical_metrics_and_the_same_portfolio_on_sensex()
    {
        AssertBackendsAgree(SharedData.File("sensex_2500.csv"));
    }

    [Theory]
    [InlineData("parquet")]
    [InlineData("heavydb")]
    public void Dataset_ingest_inspect_and_drop(string backend)
    {
        var input = _dir.File("d.csv", Some.Csv(Some.RandomMatrix(12, 9, 4)));
        string[] store = ["--backend", backend, "--data-dir", Path.Combine(_dir.Path, "data")];

        var ingest = Hopt.Run(["dataset", "ingest", "--input", input, "--json", .. store]);
        Assert.True(ingest.ExitCode == 0, ingest.Error);
        var stored = JsonNode.Parse(ingest.Out)!.AsArray().Single()!;
        var fingerprint = (string)stored["fingerprint"]!;
        Assert.Equal(12, (int)stored["strategies"]!);

        var again = Hopt.Run(["dataset", "ingest", "--input", input, "--json", .. store]);
        Assert.Equal(fingerprint, (string)JsonNode.Parse(again.Out)!.AsArray().Single()!["fingerprint"]!);

        var list = Hopt.Run(["dataset", "inspect", "--health", .. store]);
        Assert.Contains(fingerprint, list.Out, StringComparison.Ordinal);
        Assert.Contains("health: ok", list.Error, StringComparison.Ordinal);

        Assert.Equal(0, Hopt.Run(["dataset", "drop", "--input", input, .. store]).ExitCode);
        var gone = Hopt.Run(["dataset", "inspect", "--fingerprint", fingerprint, .. store]);
        Assert.Equal(1, gone.ExitCode);
        Assert.Contains("no dataset", gone.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Processes_ingesting_one_new_file_into_the_embedded_engine_at_once_leave_one_good_dataset()
    {
        var input = _dir.File("raced.csv", Some.Csv(Some.RandomMatrix(400, 30, 21)));
        string[] store = ["--backend", "heavydb", "--heavydb", "embedded", "--data-dir", Path.Combine(_dir.Path, "shared")];

        var ingests = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Task.Run(() => Hopt.Run(["dataset", "ingest", "--input", input, .. store]))));

        Assert.All(ingests, i => Assert.True(i.ExitCode == 0, i.Error));
        var listed = JsonNode.Parse(Hopt.Run(["dataset", "inspect", "--json", .. store]).Out)!.AsArray();
        Assert.Single(listed);
        var optimized = Hopt.Run(["optimize", "--input", input, "-n", "10", "--max-evaluations", "50", "--output", Path.Combine(_dir.Path, "runs"), .. store]);
        Assert.True(optimized.ExitCode == 0, optimized.Error);
        Assert.Contains("1 dataset(s)", Hopt.Run(["dataset", "inspect", "--health", .. store]).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_backend_and_core_dataset_commands_are_refused()
    {
        var input = _dir.File("x.csv", Some.Csv(Some.RandomMatrix(12, 9, 5)));
        var unknown = Hopt.Run("optimize", "--input", input, "-n", "10", "--backend", "mysql", "--output", _dir.Path);
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("unknown backend 'mysql'", unknown.Error, StringComparison.Ordinal);

        var core = Hopt.Run("dataset", "ingest", "--input", input);
        Assert.Equal(2, core.ExitCode);
        Assert.Contains("core backend keeps nothing", core.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unreachable_heavydb_server_fails_with_a_clear_line_and_no_password()
    {
        var input = _dir.File("y.csv", Some.Csv(Some.RandomMatrix(12, 9, 6)));
        var outcome = Hopt.Run("optimize", "--input", input, "-n", "10", "--backend", "heavydb", "--heavydb", "heavydb://admin:hunter2@127.0.0.1:1/heavyai",
            "--output", Path.Combine(_dir.Path, "never"));

        Assert.Equal(1, outcome.ExitCode);
        Assert.Contains("cannot reach HeavyDB at heavydb://admin:***@127.0.0.1:1/heavyai", outcome.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", outcome.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "never")));
    }
}
