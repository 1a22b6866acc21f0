'use strict';
// The preload: `node -r svcdisc/register app.js`, `node --import svcdisc/register app.mjs`, or
// NODE_OPTIONS="--require svcdisc/register". Reads and checks the SVCDISC_* environment, so a
// bad value stops the program at start with a message naming it. Installing the connection
// patches is the work of src/patch/ (not built yet: see the README's status).
const disabled = /^\s*(1|true)\s*$/i.test(process.env.SVCDISC_DISABLE ?? '');

if (!disabled) {
  const { configFromEnv, ConfigError } = require('./dist/config.js');
  try {
    configFromEnv(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`svcdisc: ${error.message}\n`);
    process.exit(1);
  }
}
