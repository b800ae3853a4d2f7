using Microsoft.Extensions.Logging;

namespace CardKeep.Server.Accounts;

/// <summary>Log lines of the accounts slice. Identifiers only: never a password, answer, access key, machine secret or bearer token.</summary>
internal static partial class AccountLog
{
    [LoggerMessage(700, LogLevel.Information, "Account registered: {User}, card {Card}, machine {Machine}")]
    public static partial void Registered(ILogger logger, string user, string card, string machine);

    [LoggerMessage(701, LogLevel.Warning, "account lockout {Subject} kind={Kind} until {Until:u} (notify the user / administrator)")]
    public static partial void Lockout(ILogger logger, string subject, string kind, DateTimeOffset until);

    [LoggerMessage(702, LogLevel.Information, "Account {Action} refused from {Remote}: {Reason}")]
    public static partial void Refused(ILogger logger, string action, string? remote, string reason);

    [LoggerMessage(703, LogLevel.Information, "Account {User}: {Action} ({Detail})")]
    public static partial void Action(ILogger logger, string user, string action, string detail);
}
