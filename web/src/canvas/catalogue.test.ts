// The canvas catalogue against the flow JSON Schema the API serves (src/api/flow-schema.json,
// written by `make web-api`): every element and entry type has its form, every field of the
// schema is offered, and every choice of a select is one the schema allows.
import { describe, expect, it } from "vitest";
import schema from "../api/flow-schema.json";
import { ELEMENT_BY_TYPE, ENTRY_BY_TYPE, type Field } from "./catalogue";

interface Prop {
  const?: string;
  enum?: string[];
  anyOf?: Prop[];
  items?: Prop & { properties?: Record<string, Prop>; $ref?: string };
  $ref?: string;
}
interface Def {
  properties?: Record<string, Prop>;
}

const defs = (schema as unknown as { $defs: Record<string, Def> }).$defs;
const NOT_FIELDS = new Set(["id", "type", "next", "name", "ui"]);

/** The schema's definitions that are an element or an entry: those with a `type` constant. */
const kinds = Object.values(defs).flatMap((def) => {
  const type = def.properties?.type?.const;
  return type ? [{ type, def }] : [];
});

function choices(prop: Prop): string[] | undefined {
  if (prop.enum) return prop.enum;
  for (const alt of prop.anyOf ?? []) {
    const found = choices(alt.$ref ? defs[alt.$ref.split("/").pop()!] as Prop : alt);
    if (found) return found;
  }
  return prop.$ref ? choices(defs[prop.$ref.split("/").pop()!] as Prop) : undefined;
}

describe("the canvas catalogue", () => {
  it("knows every element and entry type of the schema", () => {
    const unknown = kinds.filter(({ type }) => !ELEMENT_BY_TYPE[type] && !ENTRY_BY_TYPE[type]);
    expect(unknown.map((k) => k.type)).toEqual([]);
    expect(kinds.length).toBeGreaterThan(20);
  });

  it("offers every field of each type, and no field the schema does not have", () => {
    for (const { type, def } of kinds) {
      const kind = ELEMENT_BY_TYPE[type] ?? ENTRY_BY_TYPE[type];
      const wanted = Object.keys(def.properties ?? {}).filter((k) => !NOT_FIELDS.has(k)).sort();
      const offered = kind.fields.map((f: Field) => f.key).sort();
      expect({ type, fields: offered }).toEqual({ type, fields: wanted });
    }
  });

  it("offers the choices the schema allows in every select", () => {
    for (const { type, def } of kinds) {
      const kind = ELEMENT_BY_TYPE[type] ?? ENTRY_BY_TYPE[type];
      for (const field of kind.fields.filter((f: Field) => f.kind === "select")) {
        const allowed = choices(def.properties![field.key]);
        expect({ type, field: field.key, options: field.options }).toEqual({ type, field: field.key, options: allowed });
      }
    }
  });
});
