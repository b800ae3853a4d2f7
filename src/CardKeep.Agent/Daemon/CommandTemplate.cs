using System.Diagnostics;
using System.Text;

namespace CardKeep.Agent.Daemon;

/// <summary>
/// A program to run on an event (card removed, confirm a key use), given as one line split into an argv array the way a
/// shell would split it (spaces; '…' and "…" quote; \ escapes), but run <b>without</b> a shell. Placeholders such as
/// <c>{user}</c> are replaced inside each argument after splitting, so a value can never add an argument or a command.
/// </summary>
public sealed class CommandTemplate
{
    private readonly string[] _argv;

    private CommandTemplate(string[] argv) => _argv = argv;

    public IReadOnlyList<string> Arguments => _argv;

    /// <summary>Splits <paramref name="line"/>; an empty line or an unclosed quote is an <see cref="ArgumentException"/>.</summary>
    public static CommandTemplate Parse(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        var argv = new List<string>();
        var current = new StringBuilder();
        bool inWord = false;
        char quote = '\0';
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
                else if (c == '\\' && quote == '"' && i + 1 < line.Length)
                {
                    current.Append(line[++i]);
                }
                else
                {
                    current.Append(c);
                }

                continue;
            }

            if (char.IsWhiteSpace(c))
            {
                if (inWord)
                {
                    argv.Add(current.ToString());
                    current.Clear();
                    inWord = false;
                }

                continue;
            }

            inWord = true;
            if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '\\' && i + 1 < line.Length)
            {
                current.Append(line[++i]);
            }
            else
            {
                current.Append(c);
            }
        }

        if (quote != '\0')
        {
            throw new ArgumentException("the command has an unclosed quote", nameof(line));
        }

        if (inWord)
        {
            argv.Add(current.ToString());
        }

        if (argv.Count == 0)
        {
            throw new ArgumentException("the command is empty", nameof(line));
        }

        return new CommandTemplate([.. argv]);
    }

    /// <summary>The argv with every <c>{name}</c> replaced by its value (unknown placeholders are left as they are).</summary>
    public IReadOnlyList<string> Expand(IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return [.. _argv.Select(a => values.Aggregate(a, (text, pair) => text.Replace("{" + pair.Key + "}", pair.Value, StringComparison.Ordinal)))];
    }

    /// <summary>Runs the expanded command without a shell and returns its exit code (-1 when it overran and was killed).</summary>
    public async Task<int> RunAsync(IReadOnlyDictionary<string, string> values, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var argv = Expand(values);
        var info = new ProcessStartInfo(argv[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = false,
            RedirectStandardError = false,
        };
        foreach (string a in argv.Skip(1))
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {argv[0]}");
        process.StandardInput.Close();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            return -1;
        }
    }

    public override string ToString() => string.Join(' ', _argv);
}
