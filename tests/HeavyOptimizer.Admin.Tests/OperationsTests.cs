using System.Text.Json.Nodes;
using HeavyOptimizer.Core.Tests.Support;

namespace HeavyOptimizer.Admin.Tests;

/// <summary>
/// The runbook's remaining procedures as commands, against a real silo process: health with its exit codes, disabling
/// a backend, validation, the runbook's rollback checkpoints, verifying outputs (and replaying a corrupted one), and
/// backing up and restoring the migration state.
/// </summary>
public sealed class OperationsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly RunningSilo _silo;

    public OperationsTests() => _silo = new RunningSilo(Path.Combine(_dir.Path, "silo"), null, "--input-root", Path.GetTempPath()).Start();

    public void Dispose()
    {
        _silo.Dispose();
        _dir.Dispose();
    }

    private JsonNode Json(params string[] args)
    {
        var outcome = _silo.Run([.. args, "--json"]);
        Assert.True(outcome.ExitCode == 0, $"hopt {string.Join(' ', args)}: {outcome.Error}");
        return JsonNode.Parse(outcome.Out)!;
    }

    private JsonNode Config() => Json("status")["config"]!;

    [Fact]
    public void Health_backends_validation_checkpoints_verify_and_backup_work_on_a_live_silo()
    {
        // Health: the script's fields, exit 0 while healthy; 3 when the cluster cannot be reached.
        var health = Json("health");
        Assert.Equal("healthy", (string)health["status"]!);
        Assert.Equal(("heavydb", 1), ((string)health["primary"]!, health["silos"]!.AsArray().Count(s => (string)s!["status"]! == "active")));
        Assert.All(health["backends"]!.AsArray(), b => Assert.True((bool)b!["healthy"]!, b.ToJsonString()));
        Assert.Equal(3, Hopt.Run("health", "--cluster", $"127.0.0.1:{SiloProcess.FreePort()}").ExitCode);
        Assert.Equal(3, Hopt.Run("health", "--bogus").ExitCode);
        Assert.Equal(3, Hopt.Run("health", "--cluster", "garbage::").ExitCode);
        var unknown = Hopt.Run("health", "--cluster", $"127.0.0.1:{SiloProcess.FreePort()}", "--json");
        Assert.Equal((3, "unknown"), (unknown.ExitCode, (string)JsonNode.Parse(unknown.Out)!["status"]!));

        // A backend out of service: refused for the one heavydb_only runs on, unless forced; Parquet may go.
        var refused = _silo.Run("backend", "disable", "heavydb", "--reason", "maintenance");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("heavydb_only runs every job on heavydb", refused.Error, StringComparison.Ordinal);
        Assert.Equal(0, _silo.Run("backend", "disable", "parquet", "--reason", "parquet host down").ExitCode);
        Assert.Equal("parquet", (string)Config()["disabled_backends"]![0]!);
        Assert.Equal(0, _silo.Run("backend", "enable", "parquet", "--reason", "back").ExitCode);
        Assert.Empty(Config()["disabled_backends"]!.AsArray());

        // Validation and strict validation, audited.
        Assert.Equal(0, _silo.Run("validation", "off", "--strict", "on", "--reason", "checkpoint 1.2").ExitCode);
        Assert.Equal((false, true), ((bool)Config()["validation_enabled"]!, (bool)Config()["strict_validation"]!));
        Assert.Equal(0, _silo.Run("validation", "on", "--strict", "off", "--reason", "done").ExitCode);

        // The runbook's checkpoints: listed without a reason; 2.1 and 3.1 applied in one audited step each.
        var list = _silo.Run("rollback", "--list");
        Assert.Equal(0, list.ExitCode);
        Assert.Equal(8, list.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(0, _silo.Run("rollback", "--checkpoint", "2.1", "--reason", "parquet errors").ExitCode);
        Assert.Equal(("dual_write", "heavydb", 0), ((string)Config()["phase"]!, (string)Config()["primary_backend"]!, (int)Config()["traffic_percent_parquet"]!));
        Assert.Equal(0, _silo.Run("rollback", "--checkpoint", "3.1", "--reason", "performance regression").ExitCode);
        Assert.Equal(("heavydb_only", false, "parquet"), ((string)Config()["phase"]!, (bool)Config()["dual_write"]!, (string)Config()["disabled_backends"]![0]!));
        Assert.Contains(Json("audit").AsArray(), a => ((string)a!["action"]!).StartsWith("rollback checkpoint 3.1", StringComparison.Ordinal));
        Assert.Equal(2, _silo.Run("rollback", "--checkpoint", "9.9", "--reason", "x").ExitCode);

        // Backup; changes; restore: the settings and checkpoints come back, the audit log only grows.
        var backup = Path.Combine(_dir.Path, "migration.backup.json");
        Assert.Equal(0, _silo.Run("checkpoint", "before-backup", "--reason", "kept").ExitCode);
        Assert.Equal(0, _silo.Run("backup", "--out", backup).ExitCode);
        Assert.Equal(2, _silo.Run("backup", "--out", backup).ExitCode);
        Assert.Equal(0, _silo.Run("backend", "enable", "parquet", "--reason", "after the backup").ExitCode);
        Assert.Equal(0, _silo.Run("phase", "dual_write", "--reason", "after the backup").ExitCode);
        Assert.Equal(0, _silo.Run("checkpoint", "after-backup", "--reason", "not in the backup").ExitCode);
        var auditBefore = Json("audit", "--limit", "10000").AsArray().Count;
        Assert.Equal(0, _silo.Run("restore", backup, "--reason", "checkpoint 3.2: restore the configuration backup").ExitCode);
        Assert.Equal(("heavydb_only", "parquet"), ((string)Config()["phase"]!, (string)Config()["disabled_backends"]![0]!));
        Assert.Equal(2, _silo.Run("rollback", "--to", "after-backup", "--reason", "gone with the restore").ExitCode);
        Assert.Equal(0, _silo.Run("rollback", "--to", "before-backup", "--reason", "restored with it").ExitCode);
        Assert.True(Json("audit", "--limit", "10000").AsArray().Count >= auditBefore + 2);
        Assert.Equal(2, _silo.Run("restore", Path.Combine(_dir.Path, "nothing.json"), "--reason", "x").ExitCode);

        // A backup edited by hand gets the same checks as the commands: no backend left, or a checkpoint name no command takes.
        var edited = JsonNode.Parse(File.ReadAllText(backup))!;
        edited["state"]!["config"]!["disabled_backends"] = new JsonArray("heavydb", "parquet");
        File.WriteAllText(backup, edited.ToJsonString());
        Assert.Contains("never both", _silo.Run("restore", backup, "--reason", "edited").Error, StringComparison.Ordinal);
        edited["state"]!["config"]!["disabled_backends"] = new JsonArray();
        edited["state"]!["checkpoints"]!.AsObject()["../../x"] = edited["state"]!["config"]!.DeepClone();
        File.WriteAllText(backup, edited.ToJsonString());
        Assert.Contains("cannot name a checkpoint", _silo.Run("restore", backup, "--reason", "edited").Error, StringComparison.Ordinal);

        // Verify: a completed job's output sound, then one file changed: corrupted, replayed on --replay.
        var input = _dir.File("verify.csv", Some.Csv(Some.RandomMatrix(60, 20, 4)));
        var job = Json("submit", "--input", input, "-n", "10", "--max-evaluations", "200", "--job-id", "verify-me", "--wait");
        var run = (string)job["result"]!["run_directory"]!;
        Assert.True((bool)Json("verify")["sound"]!);
        File.AppendAllText(Path.Combine(run, "strategy_metrics.csv"), "tampered\n");
        var report = _silo.Run("verify", "--replay");
        Assert.Equal(1, report.ExitCode);
        Assert.Contains("corrupted: verify-me: strategy_metrics.csv does not match its hash", report.Out, StringComparison.Ordinal);
        Assert.Contains("replayed as verify-me-replay-", report.Out, StringComparison.Ordinal);
        Assert.Single(Json("job", "verify-me")["replays"]!.AsArray());
        var again = _silo.Run("verify", "--replay");
        Assert.Contains("replayed before, not again: verify-me", again.Out, StringComparison.Ordinal);
        Assert.Single(Json("job", "verify-me")["replays"]!.AsArray());
    }
}
