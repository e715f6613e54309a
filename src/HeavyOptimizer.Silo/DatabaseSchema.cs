using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace HeavyOptimizer.Silo;

/// <summary>
/// The project's own schema for Orleans' ADO.NET providers (the 10.4.2 packages ship none), applied idempotently by
/// <c>hopt db init</c> and by an embedded silo at start.
/// </summary>
public static class DatabaseSchema
{
    /// <summary>The invariant Orleans' ADO.NET providers are given for SQLite; served by Microsoft.Data.Sqlite.</summary>
    public const string SqliteInvariant = "System.Data.SQLite";

    /// <summary>Makes <see cref="SqliteInvariant"/> resolvable by the providers (once per process).</summary>
    public static void RegisterProviders()
    {
        if (!DbProviderFactories.TryGetFactory(SqliteInvariant, out _))
        {
            DbProviderFactories.RegisterFactory(SqliteInvariant, SqliteFactory.Instance);
        }
    }

    /// <summary>Applies the schema of <paramref name="provider"/> (sqlite) to the database at <paramref name="connectionString"/>.</summary>
    public static async Task ApplyAsync(string provider, string connectionString, CancellationToken cancellation = default)
    {
        if (provider != "sqlite")
        {
            throw new ArgumentException($"provider '{provider}': only sqlite is built so far (PostgreSQL comes with cluster mode)");
        }

        var builder = new SqliteConnectionStringBuilder(connectionString);
        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        await using var connection = new SqliteConnection(connectionString);
        await connection.OpenAsync(cancellation);
        await using var command = connection.CreateCommand();
        command.CommandText = Script("sqlite-storage.sql");
        await command.ExecuteNonQueryAsync(cancellation);
    }

    private static string Script(string name)
    {
        using var stream = typeof(DatabaseSchema).Assembly.GetManifestResourceStream(name)
                           ?? throw new InvalidOperationException($"schema script {name} is not embedded");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
