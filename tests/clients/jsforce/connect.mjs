// A jsforce connection to the emulator: SF_INSTANCE_URL and SF_ACCESS_TOKEN from the test.
import { Connection } from 'jsforce';

export function connect() {
  const conn = new Connection({
    instanceUrl: process.env.SF_INSTANCE_URL,
    accessToken: process.env.SF_ACCESS_TOKEN,
    version: '61.0',
  });
  conn.metadata.pollInterval = 100;
  conn.metadata.pollTimeout = 120000;
  return conn;
}

export function answer(promise) {
  promise.then(
    (value) => process.stdout.write(JSON.stringify(value) + '\n'),
    (error) => {
      process.stderr.write(`${error.name}: ${error.message}\n`);
      process.exit(1);
    },
  );
}
