using System.Text.Json.Nodes;

namespace HeavyOptimizer.Admin.Tests;

public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("hopt-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Sample(int strategies = 300, int rows = 40, int seed = 1)
    {
        var path = Path.Combine(_dir, $"sample_{strategies}_{rows}_{seed}.csv");
        var outcome = Hopt.Run("sample", "--strategies", $"{strategies}", "--rows", $"{rows}", "--seed", $"{seed}", "--output", path);
        Assert.True(outcome.ExitCode == 0, outcome.Error);
        return path;
    }

    [Theory]
    [InlineData("optimize --input x.csv --bogus", "--bogus")]
    [InlineData("db init --provider mysql --connection x", "'sqlite'")]
    [InlineData("silo --embedded --postgres Host=db", "choose one")]
    public void Bad_options_exit_2_and_say_what_is_wrong(string args, string named)
    {
        var outcome = Hopt.Run(args.Split(' '));

        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains(named, outcome.Out + outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_command_in_the_shell_takes_from_the_shells_connection_what_its_own_line_does_not_say()
    {
        var shell = new Commands.ClusterCommands.Connection("10.0.0.1:30000", null, "me.pfx", "ca.pem");
        Assert.Equal(new Commands.ClusterCommands.Connection("10.0.0.1:30000", null, "other.pfx", null), new Commands.ClusterCommands.Connection(null, null, "other.pfx", null).Inherit(shell));
        Assert.Equal(new Commands.ClusterCommands.Connection("10.0.0.2:30000", null, "me.pfx", "ca.pem"), new Commands.ClusterCommands.Connection("10.0.0.2:30000", null, null, null).Inherit(shell));
        Assert.Equal(new Commands.ClusterCommands.Connection(null, "cluster.txt", "me.pfx", "ca.pem"), new Commands.ClusterCommands.Connection(null, "cluster.txt", null, null).Inherit(shell));
        Assert.Equal(new Commands.ClusterCommands.Connection(null, "shell.txt", "me.pfx", "ca2.pem"),
            new Commands.ClusterCommands.Connection(null, null, null, "ca2.pem").Inherit(new Commands.ClusterCommands.Connection(null, "shell.txt", "me.pfx", "ca.pem")));
    }

    [Fact]
    public void Sample_is_deterministic_for_a_seed_and_reads_back()
    {
        var a = File.ReadAllBytes(Sample(seed: 4));
        var b = File.ReadAllBytes(Sample(seed: 4));
        var c = File.ReadAllBytes(Sample(seed: 5));

        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        var header = File.ReadLines(Sample(seed: 4)).First().Split(',');
        Assert.Equal(302, header.Length);
        Assert.Equal(["Date", "Day"], header[..2]);
    }

    [Fact]
    public void Optimize_json_prints_one_document_with_the_run_directory()
    {
        var input = Sample();
        var outcome = Hopt.Run("optimize", "--input", input, "--portfolio-size", "10", "--seed", "3",
            "--algorithms", "ga,sa,rs", "--output", Path.Combine(_dir, "out"), "--json");

        Assert.True(outcome.ExitCode == 0, outcome.Error);
        var json = JsonNode.Parse(outcome.Out)!;
        var run = (string)json["run_directory"]!;
        Assert.True(File.Exists(Path.Combine(run, "manifest.json")));
        Assert.Equal(10, json["best"]!["strategies"]!.AsArray().Count);
        Assert.Equal(["GA", "SA", "RS"], json["algorithms"]!.AsArray().Select(a => (string)a!["algorithm"]!));
        Assert.Equal(3UL, (ulong)json["parameters"]!["seed"]!);
        // Progress goes to stderr as plain lines when it is not a terminal.
        Assert.Contains("progress: SA size 10 done", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Ctrl_c_during_the_polish_stops_optimize_with_130_and_writes_no_run_directory()
    {
        var output = Path.Combine(_dir, "interrupted");
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using var run = Hopt.Start(lines.Enqueue, "optimize", "--input", Sample(), "-n", "10", "--time-limit", "8", "--output", output);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!lines.Any(l => l.StartsWith("progress: LS ", StringComparison.Ordinal)))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1) && !run.HasExited, $"the polish never reported: {string.Join('|', lines)}");
            Thread.Sleep(50);
        }

        SiloProcess.Signal(run, "INT");
        Assert.True(run.WaitForExit(TimeSpan.FromSeconds(10)), "optimize did not stop within 10 s of Ctrl+C");
        run.WaitForExit();
        Assert.Equal(130, run.ExitCode);
        Assert.Contains("hopt: cancelled", lines);
        Assert.False(Directory.Exists(output) && Directory.EnumerateFileSystemEntries(output).Any(), $"something was written: {string.Join(", ", Directory.Exists(output) ? Directory.EnumerateFileSystemEntries(output) : [])}");
    }

    [Fact]
    public void The_default_job_is_reproducible_bit_for_bit_and_records_its_preset()
    {
        var input = Sample();
        JsonNode Run(params string[] extra)
        {
            var outcome = Hopt.Run(["optimize", "--input", input, "-n", "12", "--seed", "5", "--output", Path.Combine(_dir, "repro"), "--json", .. extra]);
            Assert.True(outcome.ExitCode == 0, outcome.Error);
            var json = JsonNode.Parse(outcome.Out)!;
            Strip(json);
            return json;
        }

        // Everything but when it ran and how long it took: every fitness, evaluation count, portfolio and the polish.
        static void Strip(JsonNode? node)
        {
            if (node is JsonObject o)
            {
                foreach (var key in new[] { "run_id", "started_at", "execution_seconds", "seconds", "run_directory", "files" })
                {
                    o.Remove(key);
                }

                foreach (var (_, child) in o.ToList())
                {
                    Strip(child);
                }
            }
            else if (node is JsonArray a)
            {
                foreach (var child in a)
                {
                    Strip(child);
                }
            }
        }

        var first = Run();
        Assert.Equal(first.ToJsonString(), Run().ToJsonString());
        Assert.Equal(("default", 1.0), ((string)first["parameters"]!["preset"]!, (double)first["parameters"]!["effort"]!));
        Assert.True((double)first["polish"]!["fitness"]! >= (double)first["polish"]!["fitness_before"]!);
        Assert.Equal((double)first["polish"]!["fitness"]!, Math.Max((double)first["best"]!["fitness"]!, (double)first["polish"]!["fitness"]!));
        var legacy = Run("--preset", "legacy");
        Assert.Equal(("legacy", 1500L), ((string)legacy["parameters"]!["preset"]!, (long)legacy["algorithms"]![0]!["evaluations"]!));
        Assert.Null(legacy["polish"]);
        var more = Run("--effort", "2");
        Assert.Equal(120_000L, (long)more["algorithms"]![0]!["evaluations"]!);
        Assert.True((double)more["best"]!["fitness"]! >= (double)legacy["best"]!["fitness"]!);
        Assert.Contains("effort", Hopt.Run("optimize", "--input", input, "-n", "12", "--preset", "legacy", "--effort", "2", "--output", _dir).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_seed_same_best_portfolio_across_processes()
    {
        var input = Sample();
        string Best() => Hopt.Run("optimize", "--input", input, "-n", "12", "--seed", "8", "--output", Path.Combine(_dir, "o"), "--json").Out;
        Assert.Equal(JsonNode.Parse(Best())!["best"]!["strategies"]!.ToJsonString(), JsonNode.Parse(Best())!["best"]!["strategies"]!.ToJsonString());
    }

    [Fact]
    public void Size_range_ulta_metric_and_parameter_overrides_are_honoured()
    {
        var input = Sample();
        var outcome = Hopt.Run("optimize", "--input", input, "--min-size", "10", "--max-size", "12", "--algorithms", "de,hc",
            "--metric", "roi", "--penalty-weight", "2", "--ulta", "--param", "de.population=12", "--param", "hc.neighbourhood=4",
            "--output", Path.Combine(_dir, "out"), "--json");

        Assert.True(outcome.ExitCode == 0, outcome.Error);
        var json = JsonNode.Parse(outcome.Out)!;
        Assert.Equal(6, json["algorithms"]!.AsArray().Count);
        Assert.Equal("roi", (string)json["parameters"]!["metric"]!);
        Assert.Equal(12.0, (double)json["parameters"]!["algorithms"]!["DE"]!["population"]!);
        Assert.Equal(12 * 50, (long)json["algorithms"]!.AsArray()[0]!["evaluations"]!);
        Assert.True(File.Exists(Path.Combine((string)json["run_directory"]!, "inversion_report.md")));
    }

    [Theory]
    [InlineData("--algorithms", "ga,zz", "unknown algorithm 'zz'")]
    [InlineData("--metric", "sharpe", "unknown metric 'sharpe'")]
    [InlineData("--param", "ga.popsize=3", "popsize")]
    [InlineData("--param", "garbage", "ALGORITHM.NAME=NUMBER")]
    [InlineData("--portfolio-size", "101", "portfolio size 101: a job takes 10..100")]
    [InlineData("--portfolio-size", "9", "portfolio size 9: a job takes 10..100")]
    [InlineData("--ulta-gates", "true", "ULTA's gates without ULTA do nothing")]
    public void Bad_options_exit_non_zero_with_a_one_line_reason(string option, string value, string reason)
    {
        var outcome = Hopt.Run("optimize", "--input", Sample(), option, value, "--output", Path.Combine(_dir, "out"));

        Assert.Equal(2, outcome.ExitCode);
        var line = Assert.Single(outcome.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("hopt:", StringComparison.Ordinal));
        Assert.Contains(reason, line, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")) && Directory.EnumerateFileSystemEntries(Path.Combine(_dir, "out")).Any());
    }

    [Fact]
    public void Bad_input_file_names_file_row_and_column()
    {
        var path = Path.Combine(_dir, "bad.csv");
        File.WriteAllText(path, "Date,A,B,C,D,E,F,G,H,I,J\n2024-01-04,1,2,3,4,5,6,7,8,9,10\n2024-01-11,1,x,3,4,5,6,7,8,9,10\n");
        var outcome = Hopt.Run("optimize", "--input", path, "-n", "10", "--output", Path.Combine(_dir, "out"));

        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains("bad.csv, row 3, column 'B': 'x' is not a finite number", outcome.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_input_file_is_reported()
    {
        var outcome = Hopt.Run("optimize", "--input", Path.Combine(_dir, "nope.csv"), "--output", Path.Combine(_dir, "out"));
        Assert.Equal(2, outcome.ExitCode);
        Assert.Contains("nope.csv", outcome.Error, StringComparison.Ordinal);
    }
}
