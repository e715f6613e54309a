using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Tests.Support;
using HeavyOptimizer.Tests.Shared;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// The legacy file-drop share served by the cluster, tested as the Windows client uses it: two `hopt silo --share`
/// processes on one PostgreSQL database and one share; 50 job files written as the batch launcher writes them (in
/// place, line by line, CRLF, the console's code page with a non-UTF-8 byte in the user name, some slowly in pieces),
/// polled for under the client's own names; one silo killed outright while it holds jobs. Every file gets exactly one
/// answer, completed with its run directory on the share, or failed with the reason and its fields kept. Needs
/// <c>HOPT_TEST_POSTGRES</c>.
/// </summary>
public sealed partial class ShareTests : IDisposable
{
    private const int Files = 50;
    private static readonly Encoding Console1252 = Encoding.Latin1;
    private readonly TempDirectory _dir = new();
    private readonly List<Process> _silos = [];
    private string? _database;

    public void Dispose()
    {
        foreach (var silo in _silos)
        {
            SiloProcess.Kill(silo);
        }

        _dir.Dispose();
        if (_database is not null)
        {
            TestPostgres.DropDatabase(_database);
        }
    }

    [SkippableFact]
    public async Task Two_silos_answer_every_legacy_job_file_once_even_when_one_is_killed()
    {
        _database = TestPostgres.CreateDatabase();
        Assert.Equal(0, Hopt.Run("db", "init", "--provider", "postgres", "--connection", _database).ExitCode);
        var share = Path.Combine(_dir.Path, "share");
        Directory.CreateDirectory(Path.Combine(share, "input"));
        File.WriteAllText(Path.Combine(share, "input", "strategies.csv"), Some.Csv(Some.RandomMatrix(80, 30, 12)));
        var settings = new Dictionary<string, string>
        {
            ["HOPT__Share__Poll"] = "00:00:00.500", ["HOPT__Share__StableFor"] = "00:00:01", ["HOPT__Share__Grace"] = "00:00:04", ["HOPT__Share__Lease"] = "00:00:06",
        };
        var lines = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var own = new[] { new System.Collections.Concurrent.ConcurrentQueue<string>(), new System.Collections.Concurrent.ConcurrentQueue<string>() };
        for (var i = 0; i < 2; i++)
        {
            var mine = own[i];
            _silos.Add(Hopt.Start(line => { lines.Enqueue(line); mine.Enqueue(line); }, settings, "silo", "--postgres", _database, "--insecure", "--share", share, "--data-dir", Path.Combine(_dir.Path, "data"),
                "--silo-port", $"{SiloProcess.FreePort()}", "--gateway-port", $"{SiloProcess.FreePort()}", "--dashboard-port", $"{SiloProcess.FreePort()}",
                "--gpu", "off", "--heavydb", "embedded", "--watchdog", "2", "--max-jobs", "2"));
        }

        SiloProcess.UntilActive(_database, 2, _silos);
        var clock = Stopwatch.StartNew();

        // The launcher: echo lines redirected into jobs/queue/<id>.json, in place; a few slowly, in two pieces.
        var ids = Enumerable.Range(0, Files).Select(i => $"job_{23817 + i}_20261201_140533").ToList();
        var writers = ids.Select((id, i) => Launch(share, id, "strategies.csv", "35", slow: i % 10 == 0)).ToList();
        var bad = new Dictionary<string, string>
        {
            ["job_1_20261201_140600"] = "not a job file",
            ["job_2_20261201_140600"] = "no such file in the share's input/ folder",
            ["job_3_20261201_140600"] = "portfolio size 5",
            ["job_4_20261201_140600"] = "complete_optimization jobs only",
            ["job_5_20261201_140600"] = "a job file is at most 65536 bytes",
            ["job_6_20261201_140600"] = "differs from the file's name",
        };
        File.WriteAllBytes(Path.Combine(share, "jobs", "queue", "job_1_20261201_140600.json"), "{\r\n\"job_id\": \"job_1_20261201_140600\",\r\n"u8.ToArray());
        writers.Add(Launch(share, "job_2_20261201_140600", "missing.csv", "35", slow: false));
        writers.Add(Launch(share, "job_3_20261201_140600", "strategies.csv", "5", slow: false));
        File.WriteAllText(Path.Combine(share, "jobs", "queue", "job_4_20261201_140600.json"),
            "{\"job_id\": \"job_4_20261201_140600\", \"input_file\": \"strategies.csv\", \"portfolio_size\": 35, \"job_type\": \"delete_everything\"}");
        File.WriteAllText(Path.Combine(share, "jobs", "queue", "job_5_20261201_140600.json"), "{\"pad\": \"" + new string('x', 100_000) + "\"}");
        File.WriteAllText(Path.Combine(share, "jobs", "queue", "job_6_20261201_140600.json"),
            "{\"job_id\": \"someone_else\", \"input_file\": \"strategies.csv\", \"portfolio_size\": 35, \"job_type\": \"complete_optimization\"}");
        await Task.WhenAll(writers);

        // Once a few have been answered, the silo holding the most claimed, unanswered files dies outright (one scan
        // may claim every file that is ready, so either silo may hold them all).
        int[] holding;
        while (true)
        {
            var answered = new[] { "completed", "failed" }.SelectMany(f => Directory.GetFiles(Path.Combine(share, "jobs", f))).Select(Path.GetFileName).ToHashSet();
            holding = own.Select(o => o.Select(l => ClaimedFile().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).Distinct().Count(f => !answered.Contains(f))).ToArray();
            if (Directory.GetFiles(Path.Combine(share, "jobs", "completed")).Length >= 10 && holding.Max() > 0)
            {
                break;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(3), $"nothing was answered, or no silo holds a claim: {string.Join(", ", holding)}");
            await Task.Delay(200);
        }

        _silos[Array.IndexOf(holding, holding.Max())].Kill(entireProcessTree: true);

        // The client polls every job's two answer names until one appears.
        var answers = new Dictionary<string, (string Folder, JsonNode Answer)>();
        foreach (var id in ids.Concat(bad.Keys))
        {
            while (true)
            {
                var found = new[] { "completed", "failed" }.Select(f => (Folder: f, Path: Path.Combine(share, "jobs", f, $"{id}.json"))).Where(a => File.Exists(a.Path)).ToList();
                if (found.Count > 0)
                {
                    Assert.Single(found);
                    answers[id] = (found[0].Folder, JsonNode.Parse(File.ReadAllText(found[0].Path))!);
                    break;
                }

                Assert.True(clock.Elapsed < TimeSpan.FromMinutes(6), $"{id} was never answered: {string.Join('|', lines.TakeLast(8))}");
                await Task.Delay(500);
            }
        }

        foreach (var id in ids)
        {
            var (folder, answer) = answers[id];
            Assert.True(folder == "completed", $"{id}: {answer.ToJsonString()}");
            Assert.Equal((id, 0, "José", "L:", 35), ((string)answer["job_id"]!, (int)answer["return_code"]!, (string)answer["client_info"]!["username"]!,
                (string)answer["client_info"]!["drive_letter"]!, (int)answer["portfolio_size"]!));
            Assert.Equal("heavydb", (string)answer["backend"]!);
            Assert.True((double)answer["execution_time"]! > 0);
            var run = Path.Combine(share, (string)answer["output_dir"]!);
            Assert.StartsWith("output/run_", (string)answer["output_dir"]!, StringComparison.Ordinal);
            Assert.True(Core.Output.RunWriter.Verify(run, out var problem), $"{id}: {problem}");
        }

        foreach (var (id, reason) in bad)
        {
            var (folder, answer) = answers[id];
            Assert.Equal("failed", folder);
            Assert.Contains(reason, (string)answer["error"]!, StringComparison.Ordinal);
            Assert.Equal(2, (int)answer["return_code"]!);
        }

        // A second drop of an answered job changes nothing: the client's one answer stands.
        File.WriteAllText(Path.Combine(share, "jobs", "queue", $"{ids[0]}.json"),
            $"{{\"job_id\": \"{ids[0]}\", \"input_file\": \"strategies.csv\", \"portfolio_size\": 40, \"job_type\": \"complete_optimization\"}}");

        Assert.Equal("job_2_20261201_140600", (string)answers["job_2_20261201_140600"].Answer["job_id"]!);
        var settled = Stopwatch.StartNew();
        while (Directory.GetFiles(Path.Combine(share, "jobs", "processing")).Length > 0 || Directory.GetFiles(Path.Combine(share, "jobs", "queue")).Length > 0)
        {
            Assert.True(settled.Elapsed < TimeSpan.FromSeconds(20), "claims were left in processing/");
            await Task.Delay(200);
        }

        Assert.Equal(Files, Convert.ToInt64(TestPostgres.Scalar(_database, "SELECT count(*) FROM hopt_outcomes"), null));
        Assert.False(File.Exists(Path.Combine(share, "jobs", "failed", $"{ids[0]}.json")), "a second, contradicting answer was written");
        SiloProcess.UntilLogged(lines, $"Share job {ids[0]}.json was answered before");
        SiloProcess.UntilLogged(lines, "in processing/ had no live silo: adopted");
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"Share job (\S+\.json) claimed as job")]
    private static partial System.Text.RegularExpressions.Regex ClaimedFile();

    /// <summary>Writes a job file as the batch launcher does: line by line (echo >>), CRLF, in the console's code page.</summary>
    private static async Task Launch(string share, string id, string input, string size, bool slow)
    {
        string[] lines =
        [
            "{", $"  \"job_id\": \"{id}\",", $"  \"input_file\": \"{input}\",", $"  \"portfolio_size\": {size},", "  \"job_type\": \"complete_optimization\",",
            "  \"timestamp\": \"Tue 12/01/2026 14:05:33.21\",", "  \"client_info\": {", "    \"computer_name\": \"TRADING-PC-07\",", "    \"username\": \"José\",",
            "    \"drive_letter\": \"L:\"", "  },", "  \"execution_mode\": \"batch\",", "  \"input_format\": \"csv\"", "}",
        ];
        var path = Path.Combine(share, "jobs", "queue", $"{id}.json");
        for (var i = 0; i < lines.Length; i++)
        {
            await using (var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
            {
                var bytes = Console1252.GetBytes(lines[i] + "\r\n");
                await file.WriteAsync(bytes);
            }

            if (slow && i == lines.Length / 2)
            {
                await Task.Delay(TimeSpan.FromSeconds(2.5)); // longer than the silos' stable-for: a half file must not be taken
            }
        }
    }
}
