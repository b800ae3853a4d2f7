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
        return root;
    }

    public static int Run(string[] args) => Build().Parse(args).Invoke();
}
