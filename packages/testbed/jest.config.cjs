const { jestConfig } = require("@redlock/build-config/jest");

module.exports = jestConfig({ testTimeout: 20000 });
