// The job that cron runs under `redlock run`. A real report would take minutes; this one says that
// it runs, with what the lock passed in its environment, and then works until its input ends, so
// that the demo decides when it is done instead of guessing how long the other host needs.
const host = process.env.HOST_NAME ?? `pid ${process.pid}`;
console.log(
  `${host}: generating the nightly report under ${process.env.REDLOCK_RESOURCE} ` +
    `(lock valid until ${new Date(Number(process.env.REDLOCK_EXPIRES_AT)).toISOString()}, extended while this runs)`,
);
process.stdin.resume();
process.stdin.on("end", () => {
  console.log(`${host}: report done`);
});
