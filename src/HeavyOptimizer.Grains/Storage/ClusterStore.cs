using System.Data;
using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using HeavyOptimizer.Abstractions;

namespace HeavyOptimizer.Grains.Storage;

/// <summary>
/// The cluster's own tables, beside Orleans' in the same database (SQLite embedded, PostgreSQL in cluster mode), each
/// row written on its own so that no write grows with history:
/// <list type="bullet">
/// <item><c>hopt_jobs</c>: one row per job, the job grain's state and the index that listing, replay and health query;
/// a transition rewrites one row, version-checked.</item>
/// <item><c>hopt_queue</c>: the jobs not finished, waiting or leased by a silo's job slots until a time; a silo takes
/// work by a conditional update (two silos never hold one job), renews its leases while it runs them, and a job whose
/// lease lapsed (its silo died) is free for any other.</item>
/// <item><c>hopt_controller</c>: the migration controller's settings (one row per controller; the cluster has one),
/// written in one transaction with the audit entries of the change and, for an automatic rollback, the outcome that
/// triggered it.</item>
/// <item><c>hopt_audit</c>: the controller's audit log, append-only, read in pages.</item>
/// <item><c>hopt_outcomes</c>: one outcome per job (the key refuses a second), which the controller aggregates.</item>
/// </list>
/// The same SQL serves both engines (standard SQL with window functions and <c>ON CONFLICT</c>).
/// </summary>
public sealed class ClusterStore(DbProviderFactory factory, string connectionString, TimeProvider? time = null)
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    private readonly TimeProvider _time = time ?? TimeProvider.System;

    /// <summary>The tables and indexes, created if missing (idempotent).</summary>
    public const string Schema = """
        CREATE TABLE IF NOT EXISTS hopt_jobs (
            job_id       VARCHAR(128) NOT NULL PRIMARY KEY,
            version      BIGINT       NOT NULL,
            state        VARCHAR(16)  NOT NULL,
            owner        VARCHAR(256) NULL,
            submitted_ms BIGINT       NOT NULL,
            status       TEXT         NOT NULL);
        CREATE INDEX IF NOT EXISTS hopt_jobs_submitted ON hopt_jobs (submitted_ms);
        CREATE INDEX IF NOT EXISTS hopt_jobs_state ON hopt_jobs (state, submitted_ms);
        CREATE TABLE IF NOT EXISTS hopt_queue (
            job_id         VARCHAR(128) NOT NULL PRIMARY KEY,
            owner          VARCHAR(256) NOT NULL,
            enqueued_ms    BIGINT       NOT NULL,
            silo           VARCHAR(256) NULL,
            lease_until_ms BIGINT       NULL,
            cancel         INT          NOT NULL DEFAULT 0);
        CREATE INDEX IF NOT EXISTS hopt_queue_turns ON hopt_queue (owner, enqueued_ms, job_id);
        CREATE INDEX IF NOT EXISTS hopt_queue_silo ON hopt_queue (silo);
        CREATE TABLE IF NOT EXISTS hopt_audit (
            controller VARCHAR(128) NOT NULL,
            sequence   BIGINT       NOT NULL,
            at_ms      BIGINT       NOT NULL,
            entry      TEXT         NOT NULL,
            PRIMARY KEY (controller, sequence));
        CREATE TABLE IF NOT EXISTS hopt_outcomes (
            controller     VARCHAR(128) NOT NULL,
            job_id         VARCHAR(128) NOT NULL,
            recorded       BIGINT       NOT NULL,
            config_version INT          NULL,
            clean          INT          NOT NULL,
            trouble        INT          NOT NULL,
            outcome        TEXT         NOT NULL,
            PRIMARY KEY (controller, job_id));
        CREATE INDEX IF NOT EXISTS hopt_outcomes_version ON hopt_outcomes (controller, config_version, recorded);
        CREATE INDEX IF NOT EXISTS hopt_outcomes_recorded ON hopt_outcomes (controller, recorded);
        CREATE TABLE IF NOT EXISTS hopt_controller (
            controller VARCHAR(128) NOT NULL PRIMARY KEY,
            version    BIGINT       NOT NULL,
            state      TEXT         NOT NULL);
        """;

    /// <summary>The fair order of waiting jobs: each submitter's oldest first, then each one's second, and so on.</summary>
    private const string Waiting = """
        WITH waiting AS (
            SELECT job_id, enqueued_ms, ROW_NUMBER() OVER (PARTITION BY owner ORDER BY enqueued_ms, job_id) AS turn
            FROM hopt_queue WHERE silo IS NULL OR lease_until_ms < @now)
        """;

    /// <summary>
    /// Creates the tables if they are missing. On PostgreSQL, silos starting together would race on
    /// <c>CREATE TABLE IF NOT EXISTS</c> (a duplicate key in pg_type): the statements run as one implicit transaction
    /// behind an advisory lock, as the Orleans schema script does.
    /// </summary>
    public Task EnsureSchemaAsync(CancellationToken cancellation = default) =>
        ExecuteAsync(factory.GetType().Name.StartsWith("Npgsql", StringComparison.Ordinal) ? "SELECT pg_advisory_xact_lock(4809215564);\n" + PostgresIndexes(Schema) : Schema, cancellation);

    /// <summary>
    /// <paramref name="script"/> with each <c>CREATE [UNIQUE] INDEX IF NOT EXISTS</c> made to look the index up first.
    /// PostgreSQL takes a share lock on the table before it finds that the index exists, and a silo (re)starting
    /// while the others write would queue every writer behind that lock (CI saw the wait end in a deadlock, and the
    /// silo exit); looked up first, an existing index costs no lock at all.
    /// </summary>
    public static string PostgresIndexes(string script) => Regex.Replace(script,
        @"CREATE (UNIQUE )?INDEX IF NOT EXISTS (\w+) ON ([^;]+);",
        "DO $$$$ BEGIN IF to_regclass('$2') IS NULL THEN CREATE $1INDEX $2 ON $3; END IF; END $$$$;");

    // ---- jobs ----

    /// <summary>A job and its row version, or null.</summary>
    public Task<(JobStatus Status, long Version)?> GetJobAsync(string jobId, CancellationToken cancellation = default) =>
        WithCommandAsync("SELECT status, version FROM hopt_jobs WHERE job_id = @id", async command =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellation);
            return await reader.ReadAsync(cancellation)
                ? (Read<JobStatus>(reader.GetString(0)), reader.GetInt64(1))
                : ((JobStatus, long)?)null;
        }, cancellation, ("id", jobId));

    /// <summary>
    /// Writes a job: a new row when <paramref name="version"/> is 0, else an update of the row at that version.
    /// Returns the new version, or null when the row was not at <paramref name="version"/> (another writer moved it on).
    /// </summary>
    public async Task<long?> SaveJobAsync(JobStatus status, long version, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(status);
        var sql = version == 0
            ? "INSERT INTO hopt_jobs (job_id, version, state, owner, submitted_ms, status) VALUES (@id, 1, @state, @owner, @submitted, @status) ON CONFLICT (job_id) DO NOTHING"
            : "UPDATE hopt_jobs SET version = version + 1, state = @state, owner = @owner, status = @status WHERE job_id = @id AND version = @version";
        var changed = await NonQueryAsync(sql, cancellation, ("id", status.JobId), ("state", status.State.ToString()), ("owner", status.Owner),
            ("submitted", status.SubmittedAt.ToUnixTimeMilliseconds()), ("status", Write(status)), ("version", version));
        return changed == 1 ? version + 1 : null;
    }

    /// <summary>Jobs submitted in [<paramref name="from"/>, <paramref name="to"/>), optionally in one state, oldest first, at most <paramref name="limit"/>.</summary>
    public Task<IReadOnlyList<JobStatus>> ListJobsAsync(
        DateTimeOffset from, DateTimeOffset to, JobState? state, int limit = int.MaxValue, CancellationToken cancellation = default) =>
        WithCommandAsync(
            $"SELECT status FROM hopt_jobs WHERE submitted_ms >= @from AND submitted_ms < @to{(state is null ? string.Empty : " AND state = @state")} ORDER BY submitted_ms, job_id LIMIT @limit",
            async command =>
            {
                var jobs = new List<JobStatus>();
                await using var reader = await command.ExecuteReaderAsync(cancellation);
                while (await reader.ReadAsync(cancellation))
                {
                    jobs.Add(Read<JobStatus>(reader.GetString(0)));
                }

                return (IReadOnlyList<JobStatus>)jobs;
            }, cancellation, ("from", from.ToUnixTimeMilliseconds()), ("to", to.ToUnixTimeMilliseconds()), ("state", state?.ToString()), ("limit", (long)limit));

    // ---- queue ----

    /// <summary>Puts a job in the queue (idempotent: a job already there keeps its place and its lease).</summary>
    public Task EnqueueAsync(string jobId, string owner, DateTimeOffset enqueuedAt, CancellationToken cancellation = default) =>
        NonQueryAsync("INSERT INTO hopt_queue (job_id, owner, enqueued_ms) VALUES (@id, @owner, @at) ON CONFLICT (job_id) DO NOTHING", cancellation,
            ("id", jobId), ("owner", owner), ("at", enqueuedAt.ToUnixTimeMilliseconds()));

    /// <summary>
    /// Leases up to <paramref name="count"/> waiting jobs to <paramref name="silo"/> for <paramref name="lease"/>, in
    /// the fair order; each is taken by a conditional update, so a job another silo took first is skipped.
    /// </summary>
    public async Task<IReadOnlyList<string>> LeaseAsync(string silo, int count, TimeSpan lease, CancellationToken cancellation = default)
    {
        if (count <= 0)
        {
            return [];
        }

        var now = Now();
        var candidates = await WithCommandAsync($"{Waiting} SELECT job_id FROM waiting ORDER BY turn, enqueued_ms, job_id LIMIT @count",
            async command => await ReadStringsAsync(command, cancellation), cancellation, ("now", now), ("count", (long)count));
        var taken = new List<string>();
        foreach (var jobId in candidates)
        {
            if (await NonQueryAsync("UPDATE hopt_queue SET silo = @silo, lease_until_ms = @until WHERE job_id = @id AND (silo IS NULL OR lease_until_ms < @now)",
                    cancellation, ("silo", silo), ("until", now + (long)lease.TotalMilliseconds), ("id", jobId), ("now", now)) == 1)
            {
                taken.Add(jobId);
            }
        }

        return taken;
    }

    /// <summary>
    /// Extends <paramref name="silo"/>'s leases of <paramref name="jobIds"/> (those it runs; any other it holds lapses);
    /// returns those it still holds (a job finished, or taken over after its lease lapsed, is gone from them) and
    /// which of those were asked to stop.
    /// </summary>
    public async Task<(IReadOnlySet<string> Held, IReadOnlySet<string> Cancelled)> RenewAsync(
        string silo, IReadOnlyCollection<string> jobIds, TimeSpan lease, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(jobIds);
        var held = new HashSet<string>(StringComparer.Ordinal);
        var cancelled = new HashSet<string>(StringComparer.Ordinal);
        if (jobIds.Count == 0)
        {
            return (held, cancelled);
        }

        var now = Now();
        var ids = jobIds.Select((id, i) => ($"j{i}", (object?)id)).ToArray();
        var list = string.Join(", ", ids.Select(p => '@' + p.Item1));
        await NonQueryAsync($"UPDATE hopt_queue SET lease_until_ms = @until WHERE silo = @silo AND lease_until_ms >= @now AND job_id IN ({list})", cancellation,
            [("until", now + (long)lease.TotalMilliseconds), ("silo", silo), ("now", now), .. ids]);
        await WithCommandAsync($"SELECT job_id, cancel FROM hopt_queue WHERE silo = @silo AND lease_until_ms >= @now AND job_id IN ({list})", async command =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellation);
            while (await reader.ReadAsync(cancellation))
            {
                held.Add(reader.GetString(0));
                if (reader.GetInt64(1) != 0)
                {
                    cancelled.Add(reader.GetString(0));
                }
            }

            return true;
        }, cancellation, [("silo", silo), ("now", now), .. ids]);
        return (held, cancelled);
    }

    /// <summary>Asks the silo running a job to stop it (it sees so at its next renewal); false when the job is not queued.</summary>
    public async Task<bool> RequestCancelAsync(string jobId, CancellationToken cancellation = default) =>
        await NonQueryAsync("UPDATE hopt_queue SET cancel = 1 WHERE job_id = @id", cancellation, ("id", jobId)) == 1;

    /// <summary>Hands jobs <paramref name="silo"/> holds back to the queue, for any silo to take at once; all of them when <paramref name="jobId"/> is null.</summary>
    public Task<int> ReleaseAsync(string silo, string? jobId = null, CancellationToken cancellation = default) =>
        NonQueryAsync($"UPDATE hopt_queue SET silo = NULL, lease_until_ms = NULL WHERE silo = @silo{(jobId is null ? string.Empty : " AND job_id = @id")}",
            cancellation, ("silo", silo), ("id", jobId));

    /// <summary>Takes a job out of the queue (finished, or cancelled while waiting); true when it was there.</summary>
    public async Task<bool> RemoveAsync(string jobId, CancellationToken cancellation = default) =>
        await NonQueryAsync("DELETE FROM hopt_queue WHERE job_id = @id", cancellation, ("id", jobId)) == 1;

    /// <summary>Where a job stands in the queue: its place among the waiting (1 = next), or the silo whose lease holds it; null when it is not queued.</summary>
    public Task<QueuePlace?> PlaceAsync(string jobId, CancellationToken cancellation = default) =>
        WithCommandAsync($"""
            {Waiting}, me AS (SELECT turn, enqueued_ms, job_id FROM waiting WHERE job_id = @id)
            SELECT (SELECT silo FROM hopt_queue WHERE job_id = @id AND lease_until_ms >= @now),
                   (SELECT COUNT(*) FROM waiting, me WHERE waiting.turn < me.turn OR (waiting.turn = me.turn AND (waiting.enqueued_ms < me.enqueued_ms OR (waiting.enqueued_ms = me.enqueued_ms AND waiting.job_id <= me.job_id)))),
                   (SELECT COUNT(*) FROM hopt_queue WHERE job_id = @id)
            """, async command =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellation);
            await reader.ReadAsync(cancellation);
            return reader.GetInt64(2) == 0 ? null
                : reader.IsDBNull(0) ? new QueuePlace((int)reader.GetInt64(1), null)
                : new QueuePlace(null, reader.GetString(0));
        }, cancellation, ("id", jobId), ("now", Now()));

    /// <summary>The queue as a whole: jobs waiting, the oldest one's enqueue time, and the jobs each silo holds.</summary>
    public Task<QueueSummary> SummaryAsync(CancellationToken cancellation = default) =>
        WithCommandAsync("""
            SELECT NULL, COUNT(*), MIN(enqueued_ms) FROM hopt_queue WHERE silo IS NULL OR lease_until_ms < @now
            UNION ALL
            SELECT silo, COUNT(*), MIN(enqueued_ms) FROM hopt_queue WHERE silo IS NOT NULL AND lease_until_ms >= @now GROUP BY silo
            """, async command =>
        {
            var waiting = 0;
            DateTimeOffset? oldest = null;
            var silos = new SortedDictionary<string, int>(StringComparer.Ordinal);
            await using var reader = await command.ExecuteReaderAsync(cancellation);
            while (await reader.ReadAsync(cancellation))
            {
                if (reader.IsDBNull(0))
                {
                    waiting = (int)reader.GetInt64(1);
                    oldest = reader.IsDBNull(2) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(2));
                }
                else
                {
                    silos[reader.GetString(0)] = (int)reader.GetInt64(1);
                }
            }

            return new QueueSummary(waiting, oldest, silos);
        }, cancellation, ("now", Now()));

    // ---- audit ----

    /// <summary>Appends audit entries (their sequence numbers are the key: an entry is never written twice).</summary>
    public async Task AppendAuditAsync(string controller, IReadOnlyList<AuditEntry> entries, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        foreach (var entry in entries)
        {
            await NonQueryAsync(AppendAuditSql, cancellation, AuditParameters(controller, entry));
        }
    }

    /// <summary>
    /// A page of the audit log: entries after sequence <paramref name="after"/> (oldest first), or, when
    /// <paramref name="after"/> is null, the latest <paramref name="limit"/>; entries at or after <paramref name="since"/> only.
    /// </summary>
    public Task<IReadOnlyList<AuditEntry>> ReadAuditAsync(string controller, long? after, DateTimeOffset? since, int limit, CancellationToken cancellation = default) =>
        WithCommandAsync(after is null
                ? "SELECT entry FROM (SELECT entry, sequence FROM hopt_audit WHERE controller = @controller AND at_ms >= @since ORDER BY sequence DESC LIMIT @limit) latest ORDER BY sequence"
                : "SELECT entry FROM hopt_audit WHERE controller = @controller AND sequence > @after AND at_ms >= @since ORDER BY sequence LIMIT @limit",
            async command => (IReadOnlyList<AuditEntry>)(await ReadStringsAsync(command, cancellation)).Select(Read<AuditEntry>).ToList(),
            cancellation, ("controller", controller), ("after", after ?? 0), ("since", since?.ToUnixTimeMilliseconds() ?? long.MinValue), ("limit", (long)Math.Max(0, limit)));

    /// <summary>The last audit sequence number written, 0 when none.</summary>
    public Task<long> LastAuditSequenceAsync(string controller, CancellationToken cancellation = default) =>
        ScalarAsync("SELECT COALESCE(MAX(sequence), 0) FROM hopt_audit WHERE controller = @controller", cancellation, ("controller", controller));

    // ---- outcomes ----

    /// <summary>Records a job's outcome; false when the job has one already (which stands).</summary>
    public async Task<bool> RecordOutcomeAsync(string controller, RecordedOutcome outcome, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        return await NonQueryAsync(RecordOutcomeSql, cancellation, OutcomeParameters(controller, outcome)) == 1;
    }

    /// <summary>The highest outcome record number, 0 when none.</summary>
    public Task<long> LastOutcomeAsync(string controller, CancellationToken cancellation = default) =>
        ScalarAsync("SELECT COALESCE(MAX(recorded), 0) FROM hopt_outcomes WHERE controller = @controller", cancellation, ("controller", controller));

    /// <summary>How many outcomes are recorded.</summary>
    public Task<long> OutcomeCountAsync(string controller, CancellationToken cancellation = default) =>
        ScalarAsync("SELECT COUNT(*) FROM hopt_outcomes WHERE controller = @controller", cancellation, ("controller", controller));

    /// <summary>
    /// The latest <paramref name="limit"/> outcomes of the window, oldest first: those of jobs routed at config version
    /// <paramref name="sinceVersion"/> or later, and unrouted ones recorded after number <paramref name="afterRecord"/>.
    /// </summary>
    public Task<IReadOnlyList<JobOutcome>> RecentOutcomesAsync(string controller, int sinceVersion, long afterRecord, int limit, CancellationToken cancellation = default) =>
        WithCommandAsync("""
            SELECT outcome FROM (SELECT outcome, recorded FROM hopt_outcomes
                                 WHERE controller = @controller AND (config_version >= @version OR (config_version IS NULL AND recorded > @after))
                                 ORDER BY recorded DESC LIMIT @limit) latest
            ORDER BY recorded
            """,
            async command => (IReadOnlyList<JobOutcome>)(await ReadStringsAsync(command, cancellation)).Select(Read<JobOutcome>).ToList(),
            cancellation, ("controller", controller), ("version", (long)sinceVersion), ("after", afterRecord), ("limit", (long)limit));

    /// <summary>How many outcomes of jobs routed at config version <paramref name="version"/> were clean, and whether any was trouble.</summary>
    public Task<(int Clean, bool Trouble)> VersionCountsAsync(string controller, int version, CancellationToken cancellation = default) =>
        WithCommandAsync("SELECT COALESCE(SUM(clean), 0), COALESCE(MAX(trouble), 0) FROM hopt_outcomes WHERE controller = @controller AND config_version = @version", async command =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellation);
            await reader.ReadAsync(cancellation);
            return ((int)Convert.ToInt64(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture),
                Convert.ToInt64(reader.GetValue(1), System.Globalization.CultureInfo.InvariantCulture) != 0);
        }, cancellation, ("controller", controller), ("version", (long)version));

    // ---- controller ----

    /// <summary>The controller's stored state (JSON) and its row version, or null before the first write.</summary>
    public Task<(string State, long Version)?> GetControllerAsync(string controller, CancellationToken cancellation = default) =>
        WithCommandAsync("SELECT state, version FROM hopt_controller WHERE controller = @controller", async command =>
        {
            await using var reader = await command.ExecuteReaderAsync(cancellation);
            return await reader.ReadAsync(cancellation) ? (reader.GetString(0), reader.GetInt64(1)) : ((string, long)?)null;
        }, cancellation, ("controller", controller));

    /// <summary>
    /// One change of the controller, all or nothing: its state at <paramref name="version"/> + 1 (the row must be at
    /// <paramref name="version"/>, 0 for the first write), its audit entries and, when given, the outcome that caused it.
    /// Returns the new version, or null when <paramref name="outcome"/> was recorded before (nothing is written).
    /// Throws <see cref="DBConcurrencyException"/> when another writer moved the row on.
    /// </summary>
    public async Task<long?> CommitControllerAsync(
        string controller, string state, long version, IReadOnlyList<AuditEntry> audit, RecordedOutcome? outcome = null, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(audit);
        await using var connection = await OpenAsync(cancellation);
        await using var transaction = await connection.BeginTransactionAsync(cancellation);
        async Task<int> Run(string sql, params (string Name, object? Value)[] parameters)
        {
            await using var command = Command(connection, transaction, sql, parameters);
            return await command.ExecuteNonQueryAsync(cancellation);
        }

        if (outcome is not null && await Run(RecordOutcomeSql, OutcomeParameters(controller, outcome)) == 0)
        {
            await transaction.RollbackAsync(cancellation);
            return null;
        }

        var written = version == 0
            ? await Run("INSERT INTO hopt_controller (controller, version, state) VALUES (@controller, 1, @state) ON CONFLICT (controller) DO NOTHING", ("controller", controller), ("state", state))
            : await Run("UPDATE hopt_controller SET version = version + 1, state = @state WHERE controller = @controller AND version = @version",
                ("controller", controller), ("state", state), ("version", version));
        if (written != 1)
        {
            await transaction.RollbackAsync(cancellation);
            throw new DBConcurrencyException($"the migration controller's stored state moved past version {version}: another activation wrote it");
        }

        foreach (var entry in audit)
        {
            await Run(AppendAuditSql, AuditParameters(controller, entry));
        }

        await transaction.CommitAsync(cancellation);
        return version + 1;
    }

    // ---- plumbing ----

    private const string AppendAuditSql =
        "INSERT INTO hopt_audit (controller, sequence, at_ms, entry) VALUES (@controller, @sequence, @at, @entry) ON CONFLICT (controller, sequence) DO NOTHING";

    private const string RecordOutcomeSql = """
        INSERT INTO hopt_outcomes (controller, job_id, recorded, config_version, clean, trouble, outcome)
        VALUES (@controller, @id, @recorded, @version, @clean, @trouble, @outcome)
        ON CONFLICT (controller, job_id) DO NOTHING
        """;

    private static (string, object?)[] AuditParameters(string controller, AuditEntry entry) =>
        [("controller", controller), ("sequence", entry.Sequence), ("at", entry.At.ToUnixTimeMilliseconds()), ("entry", Write(entry))];

    private static (string, object?)[] OutcomeParameters(string controller, RecordedOutcome r) =>
    [
        ("controller", controller), ("id", r.Outcome.JobId), ("recorded", r.Recorded), ("version", r.Outcome.Route?.ConfigVersion), ("clean", r.Clean ? 1 : 0), ("trouble", r.Trouble ? 1 : 0),
        ("outcome", Write(r.Outcome)),
    ];

    private long Now() => _time.GetUtcNow().ToUnixTimeMilliseconds();

    private static string Write<T>(T value) => JsonSerializer.Serialize(value, Json);

    private static T Read<T>(string json) => JsonSerializer.Deserialize<T>(json, Json) ?? throw new InvalidDataException($"a null {typeof(T).Name} in the cluster store");

    private static async Task<List<string>> ReadStringsAsync(DbCommand command, CancellationToken cancellation)
    {
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(cancellation);
        while (await reader.ReadAsync(cancellation))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }

    private Task ExecuteAsync(string sql, CancellationToken cancellation) => NonQueryAsync(sql, cancellation);

    private Task<int> NonQueryAsync(string sql, CancellationToken cancellation, params (string Name, object? Value)[] parameters) =>
        WithCommandAsync(sql, command => command.ExecuteNonQueryAsync(cancellation), cancellation, parameters);

    private Task<long> ScalarAsync(string sql, CancellationToken cancellation, params (string Name, object? Value)[] parameters) =>
        WithCommandAsync(sql, async command => Convert.ToInt64(await command.ExecuteScalarAsync(cancellation), System.Globalization.CultureInfo.InvariantCulture), cancellation, parameters);

    private async Task<T> WithCommandAsync<T>(string sql, Func<DbCommand, Task<T>> work, CancellationToken cancellation, params (string Name, object? Value)[] parameters)
    {
        await using var connection = await OpenAsync(cancellation);
        await using var command = Command(connection, null, sql, parameters);
        return await work(command);
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancellation)
    {
        var connection = factory.CreateConnection() ?? throw new InvalidOperationException("the database provider made no connection");
        connection.ConnectionString = connectionString;
        await connection.OpenAsync(cancellation);
        return connection;
    }

    /// <summary>Whether <paramref name="sql"/> uses the parameter <paramref name="name"/> (as <c>@name</c>, not as the start of a longer name).</summary>
    private static bool Mentions(string sql, string name)
    {
        for (var at = sql.IndexOf('@' + name, StringComparison.Ordinal); at >= 0; at = sql.IndexOf('@' + name, at + 1, StringComparison.Ordinal))
        {
            var end = at + name.Length + 1;
            if (end == sql.Length || !(char.IsAsciiLetterOrDigit(sql[end]) || sql[end] == '_'))
            {
                return true;
            }
        }

        return false;
    }

    private static DbCommand Command(DbConnection connection, DbTransaction? transaction, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            if (Mentions(sql, name))
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = name;
                parameter.Value = value ?? DBNull.Value;
                parameter.DbType = value switch
                {
                    long => DbType.Int64,
                    int => DbType.Int32,
                    _ => DbType.String,
                };
                command.Parameters.Add(parameter);
            }
        }

        return command;
    }
}

/// <summary>A job outcome as the controller records it: its record number, and whether it was clean and trouble.</summary>
public sealed record RecordedOutcome(JobOutcome Outcome, long Recorded, bool Clean, bool Trouble);
