import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";
import { Converter, ReflectionKind } from "typedoc";

/**
 * TypeDoc plugin: name each entry-point module after the import specifier that reaches it
 * (`@redlock/core`, `@redlock/core/testing`) rather than its path (`core/src/testing`).
 * A module at `<package>/src/<subpath>/index.ts` becomes `<package name>/<subpath>`.
 * @param {import("typedoc").Application} app
 */
export function load(app) {
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    if (!reflection.kindOf(ReflectionKind.Module)) return;
    const file = context.getSymbolFromReflection(reflection)?.declarations?.[0]?.getSourceFile();
    if (!file) return;
    let dir = dirname(file.fileName);
    while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
    const manifest = join(dir, "package.json");
    if (!existsSync(manifest)) return;
    const { name } = JSON.parse(readFileSync(manifest, "utf8"));
    const subpath = relative(join(dir, "src"), dirname(file.fileName)).split(sep).join("/");
    reflection.name = subpath ? `${name}/${subpath}` : name;
  });
}
