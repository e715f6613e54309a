using System.CommandLine;
using HeavyOptimizer.Silo.Security;

namespace HeavyOptimizer.Admin.Commands;

/// <summary><c>hopt certs init</c>: the cluster's CA, its silo certificate and one certificate per person with their role.</summary>
internal static class CertsCommand
{
    public static Command Create()
    {
        var output = new Option<string>("--out") { Description = "The folder to write (ca.pem, ca-key.pem, silo.pfx, operator-NAME.pfx, submitter-NAME.pfx)", Required = true };
        var operators = new Option<string[]>("--operator") { Description = "A person who may change the migration (repeatable)", AllowMultipleArgumentsPerToken = false };
        var submitters = new Option<string[]>("--submitter") { Description = "A person who may submit jobs and read status (repeatable)", AllowMultipleArgumentsPerToken = false };
        var days = new Option<int>("--days") { Description = "How long the silo and client certificates are valid", DefaultValueFactory = _ => 365 };
        var init = new Command("init", "Create the CA (or reuse the one in --out) and issue the silo certificate and the people's certificates")
        {
            output, operators, submitters, days,
        };
        init.SetAction(parse => ExitCodes.Guard(Console.Error, () =>
        {
            if (parse.GetValue(days) is < 1 or > 3650)
            {
                throw new ArgumentException($"--days {parse.GetValue(days)}: 1..3650");
            }

            var written = ClusterCertificates.Init(parse.GetValue(output)!, parse.GetValue(operators) ?? [], parse.GetValue(submitters) ?? [], TimeSpan.FromDays(parse.GetValue(days)));
            foreach (var file in written)
            {
                Console.WriteLine($"wrote {file}{(file.EndsWith(".pem", StringComparison.Ordinal) && !file.EndsWith("-key.pem", StringComparison.Ordinal) ? " (public)" : " (private, mode 600)")}");
            }

            Console.WriteLine("give each silo ca.pem and silo.pfx (hopt silo --certs DIR), each person ca.pem and their own .pfx (--identity FILE); keep ca-key.pem off the silos");
            return ExitCodes.Success;
        }));
        return new Command("certs", "The cluster's certificates: TLS between silos and clients, and who may do what") { init };
    }
}
