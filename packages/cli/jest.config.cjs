const { jestConfig } = require("@redlock/build-config/jest");

// The tests start the built binary as a child process; global-setup builds it when it is stale.
module.exports = jestConfig({
  testTimeout: 60000,
  globalSetup: "<rootDir>/test/global-setup.cjs",
});
