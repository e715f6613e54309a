using System.CommandLine;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Silo;
using HeavyOptimizer.Silo.Security;
using Microsoft.Extensions.Hosting;

namespace HeavyOptimizer.Admin.Commands;

/// <summary><c>hopt db init</c> applies the state database schema.</summary>
internal static class DatabaseCommand
{
    public static Command Create()
    {
        var provider = new Option<string>("--provider") { Description = "sqlite (embedded) or postgres (cluster mode)", DefaultValueFactory = _ => "sqlite" };
        provider.AcceptOnlyFromAmong(DatabaseSchema.Providers);
        var connection = new Option<string?>("--connection")
        {
            Description = $"Connection string, e.g. \"Data Source=/srv/hopt/cluster.db\"; for PostgreSQL prefer ${HostSecrets.PostgresVariable} or --connection-file",
        };
        var connectionFile = new Option<string?>("--connection-file") { Description = "A private file (mode 600) holding the connection string" };
        var init = new Command("init", "Create or update the cluster's state schema (idempotent)") { provider, connection, connectionFile };
        init.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            var target = (parse.GetValue(provider) == "postgres" ? HostSecrets.Postgres(parse.GetValue(connection), parse.GetValue(connectionFile)) : parse.GetValue(connection))
                         ?? throw new ArgumentException($"db init needs --connection (or for postgres --connection-file or ${HostSecrets.PostgresVariable})");
            await DatabaseSchema.ApplyAsync(parse.GetValue(provider)!, target, cancellation);
            Console.WriteLine($"schema applied ({parse.GetValue(provider)})");
            return ExitCodes.Success;
        }));
        return new Command("db", "The cluster's state database") { init };
    }
}
