using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace HeavyOptimizer.Silo;

/// <summary>
/// The project's own schema for Orleans' ADO.NET providers (the 10.4.2 packages ship none): grain storage and reminders
/// on SQLite (the embedded default), clustering, grain storage and reminders on PostgreSQL (cluster mode); and the
/// cluster store's tables (<see cref="Grains.Storage.ClusterStore.Schema"/>). Applied idempotently by
/// <c>hopt db init</c> and by a silo at start.
/// </summary>
public static class DatabaseSchema
{
    /// <summary>The invariant Orleans' ADO.NET providers are given for SQLite; served by Microsoft.Data.Sqlite.</summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    /// <summary>The invariant Orleans' ADO.NET providers are given for PostgreSQL; served by Npgsql.</summary>
    public const string PostgresInvariant = "Npgsql";

    /// <summary>The providers <see cref="ApplyAsync"/> knows.</summary>
    public static readonly string[] Providers = ["sqlite", "postgres"];

    /// <summary>Makes both invariants resolvable by Orleans' providers (once per process).</summary>
    public static void RegisterProviders()
    {
        if (!DbProviderFactories.TryGetFactory(SqliteInvariant, out _))
        {
            DbProviderFactories.RegisterFactory(SqliteInvariant, SqliteFactory.Instance);
        }

        if (!DbProviderFactories.TryGetFactory(PostgresInvariant, out _))
        {
            DbProviderFactories.RegisterFactory(PostgresInvariant, NpgsqlFactory.Instance);
        }
    }

    /// <summary>The ADO.NET invariant of <paramref name="provider"/> (sqlite or postgres).</summary>
    public static string InvariantOf(string provider) => provider switch
    {
        "sqlite" => SqliteInvariant,
        "postgres" => PostgresInvariant,
        _ => throw new ArgumentException($"provider '{provider}': expected sqlite or postgres"),
    };

    /// <summary>Applies the schema of <paramref name="provider"/> (sqlite or postgres) to the database at <paramref name="connectionString"/>.</summary>
    public static async Task ApplyAsync(string provider, string connectionString, CancellationToken cancellation = default)
    {
        InvariantOf(provider);
        await using DbConnection connection = provider == "sqlite" ? OpenSqlite(connectionString) : new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellation);
        await using var command = connection.CreateCommand();
        command.CommandText = provider == "postgres" ? Grains.Storage.ClusterStore.PostgresIndexes(Script("postgres.sql")) : Script($"{provider}.sql");
        await command.ExecuteNonQueryAsync(cancellation);
        await StoreOf(provider, connectionString).EnsureSchemaAsync(cancellation);
    }

    /// <summary>The cluster store in the database of <paramref name="provider"/> at <paramref name="connectionString"/>.</summary>
    public static Grains.Storage.ClusterStore StoreOf(string provider, string connectionString, TimeProvider? time = null) =>
        new(FactoryOf(provider), connectionString, time);

    /// <summary>The ADO.NET provider factory of <paramref name="provider"/>.</summary>
    public static DbProviderFactory FactoryOf(string provider) => InvariantOf(provider) == SqliteInvariant ? SqliteFactory.Instance : NpgsqlFactory.Instance;

    private static SqliteConnection OpenSqlite(string connectionString)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(new SqliteConnectionStringBuilder(connectionString).DataSource));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        return new SqliteConnection(connectionString);
    }

    private static string Script(string name)
    {
        using var stream = typeof(DatabaseSchema).Assembly.GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException($"schema script {name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
