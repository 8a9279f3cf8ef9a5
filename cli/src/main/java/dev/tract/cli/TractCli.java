package dev.tract.cli;

import dev.tract.judge.JudgeInputException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code tract} command. Results go to standard output (one JSON object with {@code --json}), logs to
 * standard error. Exit code 0 on success, 2 on bad usage or bad input, 1 on other failures.
 */
@Command(name = "tract", mixinStandardHelpOptions = true, versionProvider = TractCli.Version.class,
        description = "Train LLM-as-a-judge models with TRACT, every step a durable Temporal workflow.",
        subcommands = {QuickstartCommand.class, RunCommand.class, JudgeCommand.class, PlanCommand.class, ModelCommand.class,
                GenerateCommand.class, LogitsCommand.class, DataCommand.class, TrainCommand.class, ScoreCommand.class, CorrelateCommand.class, WorkerCommand.class,
                ServerCommand.class, DevCommand.class, SubmitCommand.class, StatusCommand.class, ListCommand.class,
                CancelCommand.class, ReportCommand.class, ChaosCommand.class, BenchCommand.class,
                CommandLine.HelpCommand.class})
public final class TractCli {
    public static final int EXIT_OK = 0;
    public static final int EXIT_FAILURE = 1;
    public static final int EXIT_BAD_INPUT = 2;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns the exit code. */
    public static int run(String... args) {
        return run(new java.io.PrintWriter(System.out, true), new java.io.PrintWriter(System.err, true), args);
    }

    /** Runs the command line with the given standard output and error (for tests). */
    public static int run(java.io.PrintWriter out, java.io.PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new TractCli());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            Throwable cause = e;
            while (cause != null && !(cause instanceof JudgeInputException)) {
                cause = cause.getCause();
            }
            if (cause != null) {
                cmd.getErr().println("tract: " + cause.getMessage());
                return EXIT_BAD_INPUT;
            }
            if (e instanceof ApiClient.Unavailable) {
                cmd.getErr().println("tract: " + e.getMessage());
                return EXIT_FAILURE;
            }
            if (e instanceof dev.tract.workflows.spec.SpecException s) {
                cmd.getErr().println("tract: " + s.getMessage());
                return EXIT_BAD_INPUT;
            }
            cmd.getErr().println("tract: " + e);
            org.slf4j.LoggerFactory.getLogger(TractCli.class).debug("failure", e);
            return EXIT_FAILURE;
        });
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = TractCli.class.getPackage().getImplementationVersion();
            return new String[] {"tract " + (v == null ? "dev" : v)};
        }
    }
}
