using System.CommandLine;
using CardKeep.Cli.Commands;

namespace CardKeep.Cli;

/// <summary>Builds the <c>cardkeep</c> command tree. Each area adds its commands in its own file.</summary>
internal static class CliApp
{
    public static RootCommand Build()
    {
        var root = new RootCommand("CardKeep: smart card lifecycle toolkit (readers, virtual smart cards, backup and recovery)");
        ReaderCommands.Add(root);
        VscCommands.Add(root);
        CardCommands.Add(root);
        UiCommand.Add(root);
        ServerCommands.Add(root);
        AgentCommands.Add(root);
        GateCommands.Add(root);
        EnvCommands.Add(root);
        if (OperatingSystem.IsLinux())
        {
            AccountCommands.Add(root);
        }

        return root;
    }

    public static int Run(string[] args)
    {
        if (Console.IsOutputRedirected)
        {
            // Tables for people, plain text for pipes and files: no colour escape codes.
            Spectre.Console.AnsiConsole.Profile.Capabilities.Ansi = false;
            Spectre.Console.AnsiConsole.Profile.Capabilities.ColorSystem = Spectre.Console.ColorSystem.NoColors;
        }

        return Build().Parse(args).Invoke();
    }
}
