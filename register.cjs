'use strict';
// The preload: `node -r svcdisc/register app.js`, `node --import svcdisc/register app.mjs`, or
// NODE_OPTIONS="--require svcdisc/register". Installs the patches that route connections to
// names under SVCDISC_DOMAINS through DNS SRV. A bad SVCDISC_* value stops the program at
// start with a message naming it; SVCDISC_DISABLE=1 installs (and checks) nothing.
const disabled = /^\s*(1|true)\s*$/i.test(process.env.SVCDISC_DISABLE ?? '');

if (!disabled) {
  try {
    require('./dist/patch/install.js').install();
  } catch (error) {
    if (error?.code !== 'ERR_SVCDISC_CONFIG') throw error;
    process.stderr.write(`svcdisc: ${error.message}\n`);
    process.exit(1);
  }
}
