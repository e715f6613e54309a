using HeavyOptimizer.Abstractions;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace HeavyOptimizer.Grains.Security;

/// <summary>
/// The silo's incoming call filter: every call to a grain must carry a <see cref="CallerProof"/> (a client's
/// certificate and signature, or a silo's key), and its caller's role must allow the method (<see cref="Required"/>);
/// the verified caller is put in the request context for the grain (<see cref="CallerProof.Current"/>). Orleans' own
/// system targets (the cluster manifest a client reads when it connects, membership) are the runtime's business and
/// are let through, as are the reminder service's ticks. A refusal throws <see cref="AccessDeniedException"/>, is
/// logged, and is audited by the migration controller.
/// </summary>
public sealed partial class CallAuthorization(ClusterSecurity security, IGrainFactory grains, TimeProvider time, ILogger<CallAuthorization> logger) : IIncomingGrainCallFilter
{
    /// <inheritdoc />
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var method = context.InterfaceMethod;
        if (method.DeclaringType == typeof(IRemindable) || context.TargetId.IsSystemTarget())
        {
            await context.Invoke();
            return;
        }

        var name = $"{method.DeclaringType!.FullName}.{method.Name}";
        Caller caller;
        try
        {
            caller = CallerProof.Verify(RequestContext.Get(CallerProof.ProofKey) as string, security.Authority!, security.SiloKey, context.TargetId.ToString(), name, time.GetUtcNow());
        }
        catch (AccessDeniedException e)
        {
            LogUnverified(name, e.Message);
            throw;
        }

        var required = Required(method.DeclaringType, method.Name, context.Request.GetArgumentCount() > 0 ? context.Request.GetArgument(0) : null);
        if (caller.Role < required)
        {
            var what = $"{method.DeclaringType.Name.TrimStart('I').Replace("Grain", string.Empty, StringComparison.Ordinal)}.{method.Name}";
            var refusal = $"{caller} may not call {what}: {required.ToString().ToLowerInvariant()}s only";
            LogRefused(caller.ToString(), what, refusal);
            // Not awaited: the refused call may be on the controller itself, whose turn this is.
            _ = grains.GetGrain<IMigrationControllerGrain>(IMigrationControllerGrain.SingletonKey).AuditRefusal(caller.Name, what, refusal)
                .ContinueWith(t => LogAuditLost(t.Exception!.GetBaseException().Message), CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            throw new AccessDeniedException(refusal);
        }

        RequestContext.Set(CallerProof.CallerKey, $"{caller.Role}:{caller.Name}");
        await context.Invoke();
    }

    /// <summary>
    /// The role a method needs. Reading (status, jobs, the audit) and submitting: submitters. Changing the migration,
    /// replaying, running a job on a chosen backend: operators. What only the cluster does to itself (outcomes, running
    /// jobs, backend compute, replay notes): silos. Any other grain (Orleans' own) from outside: operators.
    /// </summary>
    public static Role Required(Type grain, string method, object? firstArgument)
    {
        ArgumentNullException.ThrowIfNull(grain);
        if (grain == typeof(IMigrationControllerGrain))
        {
            return method switch
            {
                nameof(IMigrationControllerGrain.GetConfig) or nameof(IMigrationControllerGrain.RouteFor) or nameof(IMigrationControllerGrain.GetStatus)
                    or nameof(IMigrationControllerGrain.GetAudit) => Role.Submitter,
                nameof(IMigrationControllerGrain.Record) or nameof(IMigrationControllerGrain.AuditRefusal) => Role.Silo,
                _ => Role.Operator,
            };
        }

        if (grain == typeof(IJobGrain))
        {
            return method switch
            {
                nameof(IJobGrain.NoteReplay) or nameof(IJobGrain.Begin) or nameof(IJobGrain.Report) or nameof(IJobGrain.Finish) => Role.Silo,
                nameof(IJobGrain.Submit) or nameof(IJobGrain.Check) when firstArgument is JobSpec { ReplayOf: not null } or JobSpec { BackendOverride: not null } => Role.Operator,
                _ => Role.Submitter,
            };
        }

        return grain == typeof(IUploadGrain) || grain == typeof(IJobIndexGrain) ? Role.Submitter : grain == typeof(IBackendGrain) ? Role.Silo : Role.Operator;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Access refused: {Caller} called {What}: {Reason}")]
    private partial void LogRefused(string caller, string what, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Access refused: a call to {Method} without a valid proof of identity: {Reason}")]
    private partial void LogUnverified(string method, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A refused call could not be audited: {Reason}")]
    private partial void LogAuditLost(string reason);
}

/// <summary>The silo's outgoing call filter: every call a silo makes (grains, reminders, the dashboard) carries the silos' proof.</summary>
public sealed class SiloCallProof(ClusterSecurity security, TimeProvider time) : IOutgoingGrainCallFilter
{
    /// <inheritdoc />
    public Task Invoke(IOutgoingGrainCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var method = context.InterfaceMethod;
        RequestContext.Set(CallerProof.ProofKey, CallerProof.SignAsSilo(security.SiloKey, context.TargetId.ToString(), $"{method.DeclaringType!.FullName}.{method.Name}", time.GetUtcNow()));
        return context.Invoke();
    }
}
