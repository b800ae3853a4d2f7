using System.CommandLine;
using System.Text;

namespace CardKeep.Cli;

/// <summary>
/// Every secret a command needs comes from, in order: its flag (e.g. <c>--pin</c>), its environment variable
/// (e.g. <c>CARDKEEP_PIN</c>), or a prompt on the terminal that does not echo. With no terminal and neither flag
/// nor variable the command stops with exit code 2 saying which to give. Secrets are never printed.
/// Flags are visible to other local users in <c>ps</c>; prefer the variable or the prompt.
/// </summary>
internal sealed class SecretOption
{
    public SecretOption(string name, string environmentVariable, string description)
    {
        EnvironmentVariable = environmentVariable;
        Label = description;
        Option = new Option<string?>(name) { Description = $"{description} (or set {environmentVariable}; prompted for on a terminal when neither is given)" };
    }

    public Option<string?> Option { get; }

    public string EnvironmentVariable { get; }

    public string Label { get; }

    /// <summary>The secret as UTF-8 bytes (the caller zeroes it), or null when it may be omitted and was.</summary>
    public byte[] Read(ParseResult parse, bool confirm = false)
    {
        ArgumentNullException.ThrowIfNull(parse);
        string? value = parse.GetValue(Option);
        if (string.IsNullOrEmpty(value))
        {
            value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        }

        if (string.IsNullOrEmpty(value))
        {
            if (Console.IsInputRedirected)
            {
                throw new UsageException($"{Label} is needed: give {Option.Name} or set {EnvironmentVariable}");
            }

            value = Prompt($"{Label}: ");
            if (confirm && Prompt($"{Label} again: ") != value)
            {
                throw new UsageException($"the two entries of the {Label} differ");
            }
        }

        return Encoding.UTF8.GetBytes(value);
    }

    private static string Prompt(string prompt)
    {
        Console.Error.Write(prompt);
        var text = new StringBuilder();
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                break;
            }

            if (key.Key == ConsoleKey.Backspace)
            {
                if (text.Length > 0)
                {
                    text.Length--;
                }

                continue;
            }

            text.Append(key.KeyChar);
        }

        Console.Error.WriteLine();
        return text.ToString();
    }
}

/// <summary>The secrets the card commands share.</summary>
internal static class Secrets
{
    public static SecretOption Pin() => new("--pin", "CARDKEEP_PIN", "PIN");

    public static SecretOption NewPin() => new("--new-pin", "CARDKEEP_NEW_PIN", "new PIN");

    /// <summary>The PIN of the card written to, when it differs from the one read (restore, transfer).</summary>
    public static SecretOption TargetPin() => new("--to-pin", "CARDKEEP_TO_PIN", "PIN of the card written to");

    public static SecretOption Puk() => new("--puk", "CARDKEEP_PUK", "PUK");

    public static SecretOption ManagementKey() => new("--mgmt-key", "CARDKEEP_MGMT_KEY", "management key (hex, or 'default' for the factory key)");
}
