using Npgsql;

namespace HeavyOptimizer.Tests.Shared;

/// <summary>
/// A database of its own per test on the PostgreSQL server named by <c>HOPT_TEST_POSTGRES</c> (an administrator's
/// connection string; `.ci/run` starts a server and sets it). Where it is unset, the test reports itself skipped.
/// </summary>
internal static class TestPostgres
{
    public const string Variable = "HOPT_TEST_POSTGRES";

    /// <summary>Creates a fresh database and returns its connection string; skips the test when no server is named.</summary>
    public static string CreateDatabase()
    {
        var server = Environment.GetEnvironmentVariable(Variable);
        Skip.If(string.IsNullOrEmpty(server), $"{Variable} is not set: no PostgreSQL server to run this test against");
        var name = $"hopt_test_{Guid.NewGuid():N}";
        Execute(server!, $"CREATE DATABASE {name}");
        return new NpgsqlConnectionStringBuilder(server) { Database = name }.ConnectionString;
    }

    /// <summary>Drops a database made by <see cref="CreateDatabase"/>, whoever is still connected.</summary>
    public static void DropDatabase(string database)
    {
        var builder = new NpgsqlConnectionStringBuilder(database);
        var name = builder.Database;
        builder.Database = "postgres";
        NpgsqlConnection.ClearAllPools();
        Execute(builder.ConnectionString, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }

    /// <summary>The first column of the first row of <paramref name="sql"/>.</summary>
    public static object? Scalar(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar();
    }

    private static void Execute(string connectionString, string sql) => Scalar(connectionString, sql);
}
