using HeavyOptimizer.Client;
using PublicApiGenerator;

namespace HeavyOptimizer.Client.Tests;

/// <summary>
/// The client library's public surface is kept small on purpose: any change to it shows up here. To accept a
/// deliberate change, copy the .received.txt written beside the test output over HeavyOptimizer.Client.approved.txt.
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void Public_api_is_the_approved_one()
    {
        var api = typeof(IHeavyOptimizerClient).Assembly.GeneratePublicApi(new ApiGeneratorOptions { IncludeAssemblyAttributes = false });
        var approvedPath = Path.Combine(AppContext.BaseDirectory, "HeavyOptimizer.Client.approved.txt");
        var approved = File.Exists(approvedPath) ? File.ReadAllText(approvedPath) : string.Empty;
        if (Normalize(api) != Normalize(approved))
        {
            File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "HeavyOptimizer.Client.received.txt"), api);
        }

        Assert.Equal(Normalize(approved), Normalize(api));
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
}
