using System.CommandLine;
using HeavyOptimizer.Backends;
using HeavyOptimizer.Backends.HeavyDb;
using HeavyOptimizer.Backends.HeavyDb.StandIn;

namespace HeavyOptimizer.Admin.Commands;

/// <summary>
/// <c>hopt heavydb-standin</c>: the protocol-level stand-in for a HeavyDB server, so that the HeavyDB path (client,
/// sockets, both protocols) can be run for real where no HeavyDB server exists. It is not HeavyDB: its SQL runs on
/// the embedded engine.
/// </summary>
internal static class HeavyDbStandInCommand
{
    /// <summary>The variable holding the password the stand-in admits (default HeavyDB's own).</summary>
    public const string PasswordVariable = "HEAVYDB_STANDIN_PASSWORD";

    public static Command Create()
    {
        var port = new Option<int>("--port") { Description = "Binary protocol port (HeavyDB's is 6274)", DefaultValueFactory = _ => 6274 };
        var httpPort = new Option<int>("--http-port") { Description = "JSON-over-HTTP port (HeavyDB's is 6278)", DefaultValueFactory = _ => 6278 };
        var dataDir = new Option<string?>("--data-dir") { Description = $"Where its engine keeps the database (default ${DataDirectories.EnvironmentVariable} or {DataDirectories.Default})" };
        var user = new Option<string>("--user") { Description = "The user it admits", DefaultValueFactory = _ => "admin" };
        var database = new Option<string>("--database") { Description = "Its one database", DefaultValueFactory = _ => "heavyai" };
        var command = new Command("heavydb-standin",
            $"Serve HeavyDB's Thrift protocol (binary and HTTP) over the embedded engine until Ctrl+C: a stand-in for tests and demos, not HeavyDB (password from ${PasswordVariable}, default HyperInteractive)")
        {
            port, httpPort, dataDir, user, database,
        };
        command.SetAction((parse, cancellation) => ExitCodes.GuardAsync(Console.Error, async () =>
        {
            using var signals = new ConsoleSignals(cancellation);
            var password = Environment.GetEnvironmentVariable(PasswordVariable) is { Length: > 0 } given ? given : "HyperInteractive";
            HeavyDbStandInServer server;
            try
            {
                server = await HeavyDbStandInServer.StartAsync(new HeavyDbStandInOptions
                {
                    DataDirectory = parse.GetValue(dataDir) ?? DataDirectories.Default,
                    BinaryPort = parse.GetValue(port),
                    HttpPort = parse.GetValue(httpPort),
                    User = parse.GetValue(user)!,
                    Password = password,
                    Database = parse.GetValue(database)!,
                });
            }
            catch (Exception e) when (e is System.Net.Sockets.SocketException or System.Net.HttpListenerException)
            {
                throw new ArgumentException($"cannot listen on port {parse.GetValue(port)} (binary) or {parse.GetValue(httpPort)} (http): {ExitCodes.OneLine(e.Message)}", e);
            }

            await using var _ = server;
            Console.WriteLine("HeavyDB protocol stand-in, not HeavyDB: its SQL runs on the embedded DuckDB engine");
            Console.WriteLine($"binary: {HeavyDbConnection.Parse(server.Url("binary"))}");
            Console.WriteLine($"http:   {HeavyDbConnection.Parse(server.Url("http"))}");
            try
            {
                await Task.Delay(Timeout.Infinite, signals.Token);
            }
            catch (OperationCanceledException)
            {
                Console.WriteLine($"stopped after {server.Calls} call(s)");
            }

            return ExitCodes.Success;
        }));
        return command;
    }
}
