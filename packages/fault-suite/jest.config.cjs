const { jestConfig } = require("@redlock/build-config/jest");

module.exports = jestConfig({
  testTimeout: 60000,
  globalSetup: "<rootDir>/test/global-setup.cjs",
});
