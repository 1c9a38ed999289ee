/**
 * `envkeep --help | head -1`: the reader of stdout (or stderr) may go away before envkeep is done
 * writing. Node then emits an EPIPE "error" on the stream, which, unheard, kills the process with
 * a stack trace. Only the binary installs this; `main` as a library leaves the host's streams be.
 */

/**
 * Hears write errors of stdout and stderr. EPIPE, a reader that closed early, is expected: the
 * command goes on quietly (nothing more can be shown there) and exits with its own code. Any
 * other write error means output was lost: the exit code becomes `lostOutputCode` if it was 0.
 */
export function watchOutputStreams(lostOutputCode: number): void {
  const onError = (error: NodeJS.ErrnoException) => {
    if (error.code !== "EPIPE" && !process.exitCode) process.exitCode = lostOutputCode;
  };
  process.stdout.on("error", onError);
  process.stderr.on("error", onError);
}
