using System.Text.Json;
using HeavyOptimizer.Backends.HeavyDb.Thrift;
using HeavyOptimizer.Core.Tests.Support;
using Thrift;
using Thrift.Protocol;
using Thrift.Transport.Client;

namespace HeavyOptimizer.Backends.Tests;

/// <summary>The HeavyDB client against the byte-exact vectors in ../shared/heavydb-wire (skipped, with the reason, when absent).</summary>
public class HeavyDbWireTests
{
    private const string Session = "3NSbWZzyPUiZDt1ycpDPjPEw5tcEyd8C";

    private static string Vector(string name)
    {
        var data = SharedData.File("sensex_2500.csv");
        var path = Path.Combine(Path.GetDirectoryName(Path.GetDirectoryName(data))!, "heavydb-wire", name);
        Skip.IfNot(File.Exists(path), $"{path} is absent: the wire test cannot run here");
        return path;
    }

    /// <summary>A client whose requests land in a buffer and whose replies come from <paramref name="reply"/>.</summary>
    private static (HeavyClient Client, TMemoryBufferTransport Sent) Client(byte[] reply, int sequenceBefore, bool json = false)
    {
        var sent = new TMemoryBufferTransport(new TConfiguration(), 1024);
        var received = new TMemoryBufferTransport(reply, new TConfiguration());
        TProtocol output = json ? new TJsonProtocol(sent) : new TBinaryProtocol(sent, true, true);
        TProtocol input = json ? new TJsonProtocol(received) : new TBinaryProtocol(received, true, true);
        var client = new HeavyClient(input, output);
        client.SkipSequence(sequenceBefore);
        return (client, sent);
    }

    private static byte[] Sent(TMemoryBufferTransport transport) => transport.GetBuffer()[..transport.Length];

    [SkippableFact]
    public async Task Connect_is_sent_byte_for_byte_and_returns_the_session()
    {
        var (client, sent) = Client(File.ReadAllBytes(Vector("reply_connect_ok.bin")), 0);
        var session = await client.ConnectAsync("admin", "HyperInteractive", "heavyai");

        Assert.Equal(File.ReadAllBytes(Vector("call_connect.bin")), Sent(sent));
        Assert.Equal(Session, session);
    }

    [SkippableFact]
    public async Task Connect_over_the_json_protocol_is_sent_as_http_posts_it()
    {
        var (client, sent) = Client("[1,\"connect\",2,1,{\"0\":{\"str\":\"x\"}}]"u8.ToArray(), 0, json: true);
        Assert.Equal("x", await client.ConnectAsync("admin", "HyperInteractive", "heavyai"));
        Assert.Equal(File.ReadAllBytes(Vector("call_connect.json")), Sent(sent));
    }

    [SkippableFact]
    public async Task Denied_connect_surfaces_the_server_message()
    {
        var (client, _) = Client(File.ReadAllBytes(Vector("reply_connect_denied.bin")), 0);
        var e = await Assert.ThrowsAsync<HeavyDbServerException>(() => client.ConnectAsync("admin", "wrong", "heavyai"));
        Assert.Equal("Invalid credentials.", e.Message);
    }

    [SkippableFact]
    public async Task Sql_execute_is_sent_byte_for_byte_and_its_columnar_reply_decoded()
    {
        var (client, sent) = Client(File.ReadAllBytes(Vector("reply_sql_execute_columnar.bin")), 1);
        var result = await client.SqlExecuteAsync(Session, "SELECT strategy, trade_date, pnl FROM hopt_returns_ds1 ORDER BY strategy, trade_date");

        Assert.Equal(File.ReadAllBytes(Vector("call_sql_execute.bin")), Sent(sent));
        Assert.Equal(["strategy", "trade_date", "pnl"], result.Descriptors.Select(d => d.Name));
        Assert.Equal([HeavyDatumType.Str, HeavyDatumType.Date, HeavyDatumType.Double], result.Descriptors.Select(d => d.Type));
        Assert.Equal(3, result.RowCount);
        Assert.Equal(("SENSEX 1000-1100 SL7%", new DateOnly(2024, 1, 4), 505.0525), ((string)result.Value(0, 0)!, (DateOnly)result.Value(0, 1)!, (double)result.Value(0, 2)!));
        Assert.Equal(("SENSEX 1000-1100 SL7%", new DateOnly(2024, 1, 11), -1250.25), ((string)result.Value(1, 0)!, (DateOnly)result.Value(1, 1)!, (double)result.Value(1, 2)!));
        Assert.Equal("SENSEX 930-1030 SL45%", result.Value(2, 0));
        Assert.Null(result.Value(2, 2));
        Assert.Equal((12L, 15L), (result.ExecutionTimeMs, result.TotalTimeMs));
    }

    [SkippableFact]
    public async Task Sql_error_surfaces_the_server_message()
    {
        var (client, _) = Client(File.ReadAllBytes(Vector("reply_sql_execute_error.bin")), 1);
        var e = await Assert.ThrowsAsync<HeavyDbServerException>(() => client.SqlExecuteAsync(Session, "SELECT * FROM hopt_returns_ds9"));
        Assert.Equal("Exception: Object 'hopt_returns_ds9' not found", e.Message);
    }

    [SkippableFact]
    public async Task Load_table_binary_columnar_is_sent_byte_for_byte()
    {
        var (client, sent) = Client(File.ReadAllBytes(Vector("reply_load_table_binary_columnar_ok.bin")), 2);
        await client.LoadTableBinaryColumnarAsync(Session, "hopt_returns_ds1",
        [
            HeavyColumn.OfStrings(["SENSEX 1000-1100 SL7%", "SENSEX 930-1030 SL45%"]),
            HeavyColumn.OfDates([new DateOnly(2024, 1, 4), new DateOnly(2024, 1, 4)]),
            HeavyColumn.OfReals([505.0525, -73.5]),
        ], ["strategy", "trade_date", "pnl"]);

        Assert.Equal(File.ReadAllBytes(Vector("call_load_table_binary_columnar.bin")), Sent(sent));
    }

    [SkippableFact]
    public async Task Disconnect_and_get_version_are_sent_byte_for_byte()
    {
        var (client, sent) = Client([], 3);
        // disconnect has no reply vector; only the request is checked, so reading the reply fails on the empty buffer.
        await Assert.ThrowsAnyAsync<Exception>(() => client.DisconnectAsync(Session));
        Assert.Equal(File.ReadAllBytes(Vector("call_disconnect.bin")), Sent(sent));

        var (versionClient, versionSent) = Client(File.ReadAllBytes(Vector("reply_get_version.bin")), 4);
        Assert.Equal("8.1.0-20240129-f3a2c1b4", await versionClient.GetVersionAsync());
        Assert.Equal(File.ReadAllBytes(Vector("call_get_version.bin")), Sent(versionSent));
    }

    [SkippableFact]
    public void Vectors_file_lists_every_binary_vector()
    {
        var path = Vector("vectors.json");
        var names = JsonDocument.Parse(File.ReadAllText(path)).RootElement.EnumerateObject().Select(p => p.Name).ToHashSet();
        var files = Directory.GetFiles(Path.GetDirectoryName(path)!, "*.bin").Select(Path.GetFileName).ToHashSet();
        Assert.Subset(names, files!);
    }
}
