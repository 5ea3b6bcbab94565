const { jestConfig } = require("@redlock/build-config/jest");

module.exports = jestConfig();
