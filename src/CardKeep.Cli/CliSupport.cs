using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using CardKeep.Cards;
using CardKeep.Cards.PcSc;

namespace CardKeep.Cli;

/// <summary>Exit codes shared by every command (documented in docs/cli.md).</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadInput = 2;
    public const int Environment = 3;
}

/// <summary>Bad input from the user: exit code 2 and a message naming the problem; nothing was done.</summary>
internal sealed class UsageException(string message) : Exception(message);

internal static class CliSupport
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    public static readonly Option<bool> JsonOption = new("--json") { Description = "Print machine-readable JSON instead of a table" };

    public static Option<string> ReaderOption(bool required = true) => new("--reader", "-r")
    {
        Description = "Reader: exact name, index (as 'cardkeep readers' numbers them) or a substring matching one reader",
        Required = required,
    };

    /// <summary>Runs a command body with the CLI's error policy: bad input → 2, pcscd missing → 3, other card errors → 1.</summary>
    public static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e) when (ExitCodeFor(e) is int code)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return code;
        }
    }

    public static async Task<int> GuardAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (ExitCodeFor(e) is int code)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return code;
        }
    }

    /// <summary>The exit code for an expected failure, or null for a bug (which then surfaces with its stack).</summary>
    private static int? ExitCodeFor(Exception e) => e switch
    {
        UsageException or CardFormatException and not VirtualCard.Store.VscFormatException => ExitCodes.BadInput,
        // The store and card libraries reject invalid values (a PIN longer than 8 bytes, a bad identifier) this way.
        ArgumentException => ExitCodes.BadInput,
        PcscServiceException => ExitCodes.Environment,
        CardException or IOException or UnauthorizedAccessException or Manager.ManagerException => ExitCodes.Failed,
        _ => null,
    };

    /// <summary>
    /// Parses hex as people type it: spaces, colons and dashes between bytes are allowed ("00 A4 04 00",
    /// "00:a4:04:00", "00A40400"). Anything else is a <see cref="UsageException"/> naming the position.
    /// </summary>
    public static byte[] ParseHex(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text);
        var digits = new List<char>(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is ' ' or ':' or '-' or '\t')
            {
                continue;
            }

            if (!char.IsAsciiHexDigit(c))
            {
                throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{what} '{text}': '{c}' at position {i + 1} is not a hex digit"));
            }

            digits.Add(c);
        }

        if (digits.Count == 0)
        {
            throw new UsageException($"{what} is empty");
        }

        if (digits.Count % 2 != 0)
        {
            throw new UsageException(string.Create(CultureInfo.InvariantCulture, $"{what} '{text}' has an odd number of hex digits ({digits.Count})"));
        }

        return Convert.FromHexString(new string([.. digits]));
    }

    /// <summary>Resolves <c>--reader</c>; an unknown or ambiguous reader is bad input (exit 2) listing the readers there are.</summary>
    public static string ResolveReader(PcscContext context, string selector)
    {
        try
        {
            return context.ResolveReader(selector);
        }
        catch (PcscReaderException e) when (e.Code == 0)
        {
            throw new UsageException(e.Message);
        }
    }

    public static void WriteJson<T>(T value) => Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    public static string Hex(ReadOnlySpan<byte> bytes) => Convert.ToHexString(bytes);
}
