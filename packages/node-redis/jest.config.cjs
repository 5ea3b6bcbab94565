const { jestConfig } = require("@redlock/build-config/jest");

module.exports = jestConfig({ testTimeout: 30000 });
