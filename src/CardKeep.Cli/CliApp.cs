using System.CommandLine;

namespace CardKeep.Cli;

/// <summary>Builds the <c>cardkeep</c> command tree. Each area adds its commands in its own file.</summary>
internal static class CliApp
{
    public static RootCommand Build()
    {
        var root = new RootCommand("CardKeep: smart card lifecycle toolkit (readers, virtual smart cards, backup and recovery)");
        return root;
    }

    public static int Run(string[] args) => Build().Parse(args).Invoke();
}
