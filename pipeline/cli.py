"""Command-line entry point: ``python cli.py FEATURE [options]`` or ``mini-orchestrator FEATURE``.

Thin by design: parse options, build :class:`pipeline.ExecutionSettings`, call the feature's ``run``
from the registry, render the result, and map exceptions to exit codes in one place:

* 0 success
* 1 unexpected internal error
* 2 usage, input or output error (one line on stderr; the traceback only with ``--verbose``);
  it wins over 3 when an output failed too
* 3 the run completed but some inputs failed (named in the report and on stderr)
* 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP (:mod:`pipeline.engine.interrupts`), unless the report
  was already out
* 141 standard output is a pipe closed by its reader (``| head -1``): nothing more is written,
  as for a Unix tool killed by SIGPIPE (Python ignores that signal, so the write fails instead)
"""

from __future__ import annotations

import logging
import os
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pipeline import registry
from pipeline.engine import interrupts
from pipeline.engine.daskconfig import check_dask_config
from pipeline.engine.settings import (
    DEFAULT_CONNECT_TIMEOUT_S,
    DEFAULT_DASHBOARD,
    DEFAULT_MODE,
    DEFAULT_WORKERS,
    MODES,
    ExecutionSettings,
)
from pipeline.errors import InputError, OutputError, PipelineError
from pipeline.loggen import FORMATS as GENERATED_FORMATS
from pipeline.loggen import NO_RESPONSE_RATE
from pipeline.reporting.display import escape_text, escape_undecodable
from pipeline.reporting.outputs import STREAM_PATH, atomic_text, check_outputs
from pipeline.reporting.text import format_bytes, json_document, render_json, render_json_line

if TYPE_CHECKING:
    from pipeline.engine.execution import Session
    from pipeline.ingest.live import LiveOutput

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_PARTIAL = 0, 1, 2, 3
#: 128 + SIGPIPE, what a shell reports for a tool killed by writing to a closed pipe.
EXIT_PIPE = 141

log = logging.getLogger("mini_orchestrator")


class FeatureGroup(click.Group):
    """A group whose subcommands are the registered features, plus the fixed utility commands.

    Usage errors are reported as one ``Error: ...`` line on stderr (exit 2), not click's
    three-line block.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *registry.features()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None:
            return command
        feature = registry.get(cmd_name)
        return _feature_command(feature) if feature is not None else None

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        # the command line as typed, for the HTML report's header (ctx.obj reaches subcommands)
        typed = list(args) if args is not None else sys.argv[1:]
        extra.setdefault("obj", {"argv": [prog_name or "cli.py", *typed]})
        try:
            # Dask reads its files and DASK_* variables on first import: check them before any
            # command imports dask (a malformed file would be a traceback at that import)
            code = _guarded(False, _checked_dask_config)
            if code == EXIT_OK:
                code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.ClickException as exc:
            click.echo(f"Error: {escape_text(exc.format_message())}", err=True)
            code = exc.exit_code
        except click.Abort:  # Ctrl-C, SIGTERM, SIGHUP (pipeline.engine.interrupts): 130, 143, 129
            interrupts.announce()
            code = interrupts.exit_code()
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else EXIT_OK)


@click.group(cls=FeatureGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="mini-orchestrator", prog_name="mini-orchestrator", message="%(prog)s %(version)s"
)
def cli() -> None:
    """Parallel batch jobs on Dask.

    Run a feature on its bundled sample data, e.g. `python cli.py ingest` or
    `python cli.py prime --mode process --worker 2`. Every feature accepts --path, --worker,
    --mode, --format, --output and --progress; see `python cli.py FEATURE --help`.
    """


def _common_params() -> list[click.Parameter]:
    """Options shared by every feature command: the execution settings and the output."""
    return [
        click.Option(
            ["--path", "path"],
            default=None,
            metavar="PATH",
            help="The input. Default: the bundled sample.",
        ),
        click.Option(
            ["--worker", "--workers", "workers"],
            type=click.IntRange(min=1),
            default=DEFAULT_WORKERS,
            show_default=True,
            help="Parallel workers (Dask num_workers; local-cluster processes in distributed "
            "mode). Threading may use more workers than cores (reads overlap); process mode "
            "gains nothing beyond the usable CPUs.",
        ),
        click.Option(
            ["--mode"],
            type=click.Choice(MODES),
            default=DEFAULT_MODE,
            show_default=True,
            help="threading: threads; process: spawned processes; sync: one thread; "
            "distributed: a dask.distributed cluster (local unless --scheduler).",
        ),
        click.Option(
            ["--format", "output_format"],
            type=click.Choice(["text", "json", "html", "csv"]),
            default="text",
            show_default=True,
            help="Report format: text, json, html (one self-contained page), or csv (one file "
            "per table into --output DIR).",
        ),
        click.Option(
            ["--output"],
            type=click.Path(path_type=Path),
            default=None,
            help="Write the report to this file instead of stdout ('-': stdout); with --format "
            "csv, the directory of CSV files (missing or empty).",
        ),
        click.Option(
            ["--progress/--no-progress"],
            default=None,
            help="Progress bar on stderr. Default: only when stderr is a terminal.",
        ),
        click.Option(["--verbose", "-v"], is_flag=True, help="DEBUG logging and tracebacks."),
        click.Option(
            ["--scheduler", "scheduler_address"],
            envvar="DASK_SCHEDULER_ADDRESS",
            default=None,
            metavar="ADDRESS",
            help="Run on this existing dask.distributed scheduler (e.g. tcp://10.0.0.5:8786); "
            "implies --mode distributed. Env: DASK_SCHEDULER_ADDRESS.",
        ),
        click.Option(
            ["--threads-per-worker"],
            type=click.IntRange(min=1),
            default=1,
            show_default=True,
            help="Threads of each local-cluster worker process (--mode distributed).",
        ),
        click.Option(
            ["--dashboard-address"],
            default=DEFAULT_DASHBOARD,
            show_default=True,
            metavar="HOST:PORT",
            help="Where the local cluster's dashboard listens (a free port if taken).",
        ),
        click.Option(
            ["--connect-timeout"],
            type=click.FloatRange(min=0, min_open=True),
            default=DEFAULT_CONNECT_TIMEOUT_S,
            show_default=True,
            metavar="SECONDS",
            help="How long to wait for --scheduler and its first worker.",
        ),
        click.Option(
            ["--keep-alive"],
            is_flag=True,
            help="After the report, keep the local cluster and dashboard up until Ctrl-C.",
        ),
        click.Option(
            ["--profile", "profile"],
            type=click.Path(dir_okay=False, path_type=Path),
            default=None,
            metavar="FILE.html",
            help="Write an HTML profile of the run (performance report in distributed mode, "
            "Dask's local diagnostics otherwise).",
        ),
    ]


def _feature_command(feature: registry.Feature) -> click.Command:
    """Build the click command of one registered feature."""

    def callback(**params: Any) -> None:
        verbose: bool = params.pop("verbose")
        _configure_logging(verbose)
        progress = params.pop("progress")
        output_format: str = params.pop("output_format")
        output: Path | None = params.pop("output")
        streamed = output is not None and os.fspath(output) == STREAM_PATH
        if streamed and output_format != "csv":  # standard output (csv refuses it in _run)
            output = None
        path: str | None = params.pop("path")
        try:
            code = _guarded(
                verbose, lambda: _run(feature, path, params, progress, output_format, output)
            )
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: one line, before click adds a blank
            interrupts.announce()
            code = interrupts.exit_code()
        click.get_current_context().exit(code)

    command = click.Command(
        name=feature.name,
        callback=callback,
        help=_feature_help(feature),
        short_help=feature.help,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    for option in feature.options:
        command.params.append(_click_option(option))
    common = _common_params()
    if feature.path_help:
        for param in common:
            if param.name == "path" and isinstance(param, click.Option):
                param.help = f"{feature.path_help} Default: the bundled sample."
    command.params.extend(common)
    return command


def _click_option(option: registry.FeatureOption) -> click.Option:
    flag = option.cli_flag
    if option.type is bool:
        negative = "--no-" + option.name.replace("_", "-")
        return click.Option(
            [f"{flag}/{negative}", option.name],
            default=option.default,
            help=option.help,
            show_default=True,
        )
    click_type: Any = option.type
    if option.choices is not None:
        click_type = click.Choice(option.choices)
    elif option.type is int and option.min is not None:
        click_type = click.IntRange(min=int(option.min))
    elif option.type is float and option.min is not None:
        click_type = click.FloatRange(min=option.min)
    return click.Option(
        [flag, option.name],
        type=click_type,
        default=option.default,
        help=option.help,
        show_default=option.default is not None and not option.multiple,
        metavar=option.metavar,
        multiple=option.multiple,
    )


def _feature_help(feature: registry.Feature) -> str:
    parts = [feature.help]
    if feature.description:
        parts.append(feature.description)
    parts.append(f"Default --path: {feature.default_path}")
    if feature.examples:
        parts.append("Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in feature.examples))
    return "\n\n".join(parts)


def _settings(options: dict[str, Any], progress: bool | None) -> ExecutionSettings:
    """Pop the execution options out of ``options`` and build the settings."""
    ctx = click.get_current_context()
    mode: str = options.pop("mode")
    address: str | None = options.pop("scheduler_address")  # '' is an error, not "none"
    explicit_mode = ctx.get_parameter_source("mode") is not click.core.ParameterSource.DEFAULT
    if address is not None:
        if explicit_mode and mode != "distributed":
            raise click.UsageError(f"--scheduler runs on dask.distributed; drop --mode {mode}")
        mode = "distributed"
        if ctx.get_parameter_source("workers") is not click.core.ParameterSource.DEFAULT:
            log.info("note: --worker is ignored with --scheduler; the cluster's workers are used")
    profile: Path | None = options.pop("profile")
    return ExecutionSettings(
        mode=mode,
        workers=options.pop("workers"),
        progress=sys.stderr.isatty() if progress is None else progress,
        scheduler_address=address,
        threads_per_worker=options.pop("threads_per_worker"),
        dashboard_address=options.pop("dashboard_address"),
        connect_timeout=options.pop("connect_timeout"),
        profile=str(profile) if profile is not None else None,
    )


def _run(
    feature: registry.Feature,
    path: str | None,
    options: dict[str, Any],
    progress: bool | None,
    output_format: str,
    output: Path | None,
) -> int:
    keep_alive: bool = options.pop("keep_alive")
    for option in feature.options:
        if option.replaces_path and options.get(option.name) and path is not None:
            raise click.UsageError(f"--path and {option.cli_flag} cannot be used together")
    settings = _settings(options, progress)
    written = {"--output": output, "--profile": settings.profile}
    for option in feature.options:
        if option.output:
            written[option.cli_flag] = options.get(option.name)
    inputs = [str(path if path is not None else feature.default_path)]
    if output_format == "csv":
        from pipeline.reporting.csvout import check_csv_directory

        if options.get("follow"):
            raise InputError("--follow cannot write --format csv; use --format json or text")
        written.pop("--output")
        check_csv_directory(output, written, inputs)
    check_outputs(written, inputs, stdout=output is None)
    obj = click.get_current_context().obj
    argv: list[str] = obj.get("argv", []) if isinstance(obj, dict) else []
    shown_path = _shown_input(feature, path, options)
    about = {"command": shlex.join(argv), "input": shown_path}
    from pipeline.engine.execution import session

    context = (shown_path, argv)
    live = _live_output(feature, options, output_format, output, context)
    if live is not None:
        options["on_update"] = live
    with session(settings, about=about) as opened:
        result = registry.run_feature(feature.name, path, settings, **options)
        try:
            if live is not None:
                live.clear()
            code = _emit(feature, result, output_format, output, context, live is not None)
            if hasattr(result, "save_state"):  # ingest --state: saved once the report is out
                result.save_state()
        finally:
            if hasattr(result, "release_state"):  # not saved (the report failed): unlocked
                result.release_state()
        interrupts.decided(code)
        if keep_alive:
            _wait_for_interrupt(opened)
    return code


def _checked_dask_config() -> int:
    check_dask_config()
    return EXIT_OK


def _stdout_is_terminal() -> bool:
    """Whether the report goes to a terminal (where a whole HTML page is of no use)."""
    return sys.stdout is not None and sys.stdout.isatty()


def _shown_input(feature: registry.Feature, path: str | None, options: dict[str, Any]) -> str:
    """What the run reads, for the HTML header and the profile: the options that replace
    ``--path`` (``prime --range 0:1e6``) when given, else the path or the feature's default."""
    shown = [
        f"{option.cli_flag} {value}"
        for option in feature.options
        if option.replaces_path and options.get(option.name)
        for value in (options[option.name] if option.multiple else (options[option.name],))
    ]
    if shown:
        return " ".join(shown)
    return path if path is not None else str(feature.default_path)


def _wait_for_interrupt(opened: Session) -> None:
    """``--keep-alive``: keep our local cluster (and its dashboard) up until Ctrl-C."""
    if not opened.owns_cluster:
        log.info("--keep-alive only applies to a local cluster (--mode distributed); ignored")
        return
    log.info("cluster kept alive; dashboard: %s (press Ctrl-C to stop)", opened.dashboard_link)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        log.info("stopping the local cluster")


def _live_output(
    feature: registry.Feature,
    options: dict[str, Any],
    output_format: str,
    output: Path | None,
    context: tuple[str, Sequence[str]],
) -> LiveOutput | None:
    """``ingest --follow``: what writes each interval's report (None without ``--follow``);
    the format combinations a follow cannot write are usage errors (exit 2)."""
    if not options.get("follow"):
        return None
    if output_format == "html" and output is None:
        raise InputError("--follow --format html needs --output FILE (the page rewritten)")
    from pipeline.ingest.live import LiveOutput

    return LiveOutput(
        output_format,
        output,
        options["interval"],
        lambda result: _render_html(feature, result, *context),
        lambda result: escape_undecodable(feature.render_text(result)),
    )


def _emit(
    feature: registry.Feature,
    result: Any,
    output_format: str,
    output: Path | None,
    context: tuple[str, Sequence[str]] = ("", ()),
    lines: bool = False,
) -> int:
    """Render the report to stdout or ``--output``; the exit code follows the failed inputs.

    ``context`` is the input path and the command line, shown in the HTML page's header;
    ``lines``: JSON on stdout as one compact line (the last line of ``--follow``); ``csv``: the
    tables as files in the directory ``output`` (checked before the run).
    """
    try:
        if output_format == "csv" and output is not None:
            from pipeline.reporting.csvout import csv_tables, write_csv_directory

            write_csv_directory(csv_tables(json_document(result)), output)
        else:
            _write_report(_render(feature, result, output_format, output, context, lines), output)
    finally:
        for failed in result.failed_inputs:
            log.warning("input failed: %s: %s", failed.path, failed.error)
    output_errors: tuple[str, ...] = getattr(result, "output_errors", ())
    for message in output_errors:  # an extra output file failed; the report is out already
        click.echo(f"Error: {message}", err=True)
    if output_errors:
        return EXIT_INPUT
    return EXIT_PARTIAL if result.failed_inputs else EXIT_OK


def _render(
    feature: registry.Feature,
    result: Any,
    output_format: str,
    output: Path | None,
    context: tuple[str, Sequence[str]],
    lines: bool,
) -> str:
    """The report as one text (text, JSON or HTML), ending with a newline."""
    if output_format == "html":
        text = _render_html(feature, result, *context)
        if output is None and _stdout_is_terminal():
            log.warning("an HTML page is about to fill the terminal; write it with --output FILE")
    elif output_format == "json" and lines and output is None:
        text = render_json_line(result)
    elif output_format == "json":
        text = render_json(result)
    else:
        text = escape_undecodable(feature.render_text(result))
    return text if text.endswith("\n") else text + "\n"


def _write_report(text: str, output: Path | None) -> None:
    if output is None:
        _write_stdout(text)
    else:
        with atomic_text(output, what="report") as handle:
            handle.write(text)
        log.info("report written to %s", output)


class _PipeClosed(Exception):
    """Standard output is a pipe whose reader has gone (``| head -1``): exit 141, quietly."""


def _write_stdout(text: str) -> None:
    """Write the report to standard output, flushed, so a failure is known here.

    A closed pipe raises :class:`_PipeClosed`; a closed descriptor (``>&-``) or a failing
    write (``> /dev/full``) raises :class:`~pipeline.errors.OutputError` (exit 2, one line).
    Either way standard output is then pointed at ``/dev/null``, so that the flush at exit does
    not fail a second time with a traceback.
    """
    stream = sys.stdout
    if stream is None:  # Python's stdout when descriptor 1 was closed at start-up
        raise OutputError("cannot write the report to standard output: it is closed")
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError as exc:
        _discard_stdout()
        raise _PipeClosed from exc
    except OSError as exc:
        _discard_stdout()
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write the report to standard output: {reason}") from exc


def _discard_stdout() -> None:
    """Point descriptor 1 at ``/dev/null``, dropping what Python still holds for it."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):  # not a descriptor (CliRunner): nothing to do
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, descriptor)
    finally:
        os.close(null)


def _render_html(feature: registry.Feature, result: Any, path: str, argv: Sequence[str]) -> str:
    from pipeline.reporting.page import PageContext

    if feature.render_html is None:
        raise InputError(f"{feature.name} has no HTML report; use --format text or json")
    command = shlex.join(argv)
    return feature.render_html(result, PageContext.now(command=command, path=path))


def _guarded(verbose: bool, action: Callable[[], int]) -> int:
    """The one translation point from exceptions to exit codes."""
    try:
        return action()
    except _PipeClosed:
        return EXIT_PIPE
    except InputError as exc:  # OutputError included: exit 2 wins over 3
        if verbose:
            traceback.print_exc(file=sys.stderr)
        click.echo(f"Error: {escape_text(str(exc))}", err=True)
        return EXIT_INPUT
    except (click.ClickException, click.exceptions.Exit, KeyboardInterrupt):
        raise
    except (PipelineError, Exception) as exc:
        interrupt = _wrapped_interrupt(exc)
        if interrupt is not None:
            raise interrupt from None
        if verbose:
            traceback.print_exc(file=sys.stderr)
        message = escape_text(str(exc).splitlines()[0]) if str(exc) else ""
        click.echo(
            f"Internal error: {type(exc).__name__}: {message}"
            + ("" if verbose else " (run with --verbose for the traceback)"),
            err=True,
        )
        return EXIT_INTERNAL


def _wrapped_interrupt(exc: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C, SIGTERM or SIGHUP behind ``exc``, if any: a signal handler's exception raised
    while compiled code runs can come back wrapped (numba's dispatcher reports ``SystemError:
    ... returned a result with an exception set``, the interrupt as its cause). An exception
    after a signal the CLI received is the interrupt too."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, KeyboardInterrupt):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return KeyboardInterrupt() if interrupts.received() is not None else None


def _configure_logging(verbose: bool) -> None:
    """INFO (DEBUG with --verbose) for our loggers on stderr; others only from WARNING up."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_EscapingFormatter("%(levelname)s %(message)s"))
    if not verbose:
        handler.addFilter(_ours_or_warning)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)


class _EscapingFormatter(logging.Formatter):
    """One record, one line: newlines, TABs, control characters and undecodable bytes of the
    message (file names, input lines) are escaped, so input cannot forge a log line."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_text(super().formatMessage(record))


def _ours_or_warning(record: logging.LogRecord) -> bool:
    """Let our own records through; third-party chatter (distributed, bokeh) only from WARNING."""
    return record.levelno >= logging.WARNING or record.name.startswith(
        ("pipeline", "mini_orchestrator")
    )


@cli.command("generate-logs", short_help="Write deterministic synthetic logs for benchmarks.")
@click.option("--lines", type=click.IntRange(min=0), required=True, help="Total lines to write.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Output file, or a directory when --files > 1.",
)
@click.option(
    "--files",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Number of files to spread the lines over (then --out is a directory).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same bytes.")
@click.option(
    "--malformed-rate",
    type=click.FloatRange(0.0, 1.0),
    default=0.0,
    show_default=True,
    help="Share of lines replaced by malformed ones.",
)
@click.option("--gzip", is_flag=True, help="gzip-compress the files (adds .gz).")
@click.option(
    "--log-format",
    type=click.Choice(GENERATED_FORMATS),
    default="default",
    show_default=True,
    help="Line format; nginx-timed is combined plus ' rt=$request_time'; the others are the "
    "ingest presets of the same names.",
)
@click.option(
    "--start",
    default=None,
    help="First time (ISO 8601, UTC unless an offset is given) [default: 2026-11-27T00:00:00Z].",
)
@click.option(
    "--period",
    default=None,
    help="How long the times last: 1d, 6h, 30m, 1d12h ... [default: 1d].",
)
@click.option(
    "--cardinality",
    type=click.Choice(["low", "realistic"]),
    default="low",
    show_default=True,
    help="low: few distinct paths, agents, latencies; realistic: ids, versions, microseconds.",
)
@click.option(
    "--no-response-rate",
    type=click.FloatRange(0.0, 1.0),
    default=NO_RESPONSE_RATE,
    show_default=True,
    help="Share of requests without a response (CloudFront 000, Squid NONE/000, Envoy 0, "
    "ALB/ELB -1 timers, HAProxy <NOSRV>); 0 writes none.",
)
def generate_logs_command(
    lines: int,
    out: Path,
    files: int,
    seed: int,
    malformed_rate: float,
    gzip: bool,
    log_format: str,
    start: str | None,
    period: str | None,
    cardinality: str,
    no_response_rate: float,
) -> None:
    """Write realistic, deterministic web-request logs for benchmarks and scale tests.

    Example: `python cli.py generate-logs --lines 5000000 --out big.log --malformed-rate 0.001`

    Web-server formats carry times spread over --period from --start:
    `python cli.py generate-logs --lines 100000 --out access.log --log-format combined --period 7d`

    Real-world cardinality (ids in paths, versioned agents, microsecond latencies):
    `python cli.py generate-logs --lines 1000000 --out real.log --cardinality realistic`
    """
    from pipeline.loggen.generate import generate_logs

    def action() -> int:
        summary = generate_logs(
            out,
            lines=lines,
            files=files,
            seed=seed,
            malformed_rate=malformed_rate,
            gzip=gzip,
            log_format=log_format,
            start=start,
            period=period,
            cardinality=cardinality,
            no_response_rate=no_response_rate,
        )
        where = (
            str(summary.files[0])
            if len(summary.files) == 1
            else f"{len(summary.files)} files in {out}"
        )
        click.echo(
            f"wrote {summary.lines:,} lines ({summary.malformed:,} malformed, "
            f"{format_bytes(summary.bytes)}) to {where}",
            err=True,
        )
        return EXIT_OK

    click.get_current_context().exit(_guarded(False, action))


def main(prog_name: str = "mini-orchestrator") -> None:
    """Console-script entry point (``mini-orchestrator``).

    Ctrl-C, SIGTERM and SIGHUP end the run within seconds and stop every worker process
    (:mod:`pipeline.engine.interrupts`); only the real entry point installs those handlers.
    """
    interrupts.install()
    try:
        cli(prog_name=prog_name)
    except SystemExit as exc:
        if interrupts.received() is not None:
            interrupts.finish(exc.code if isinstance(exc.code, int) else EXIT_INTERNAL)
        raise


if __name__ == "__main__":
    main("cli.py")
