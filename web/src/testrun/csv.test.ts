import { describe, expect, it } from "vitest";
import { parseCsv, profilesFromCsv } from "./csv";

describe("people from a CSV", () => {
  it("reads quoted cells with commas, quotes and line breaks", () => {
    expect(parseCsv('a,b\r\n"x, y","say ""hi""\nthere"\n')).toEqual([
      ["a", "b"],
      ["x, y", 'say "hi"\nthere'],
    ]);
  });

  it("makes profiles with lists, standard and typed custom attributes", () => {
    const csv = "externalId,firstName,phone,emails,vip,score,code\nana,Ana,+385911111111,a@x.io;b@x.io,true,4.5,007\n,Ivo,,,false,3,x\n";
    expect(profilesFromCsv(csv)).toEqual([
      {
        externalId: "ana",
        firstName: "Ana",
        phones: ["+385911111111"],
        emails: ["a@x.io", "b@x.io"],
        attributes: { vip: true, score: 4.5, code: "007" },
      },
      { externalId: "p2", firstName: "Ivo", attributes: { vip: false, score: 3, code: "x" } },
    ]);
  });

  it("refuses a file without people", () => {
    expect(() => profilesFromCsv("")).toThrow("empty");
    expect(() => profilesFromCsv("externalId,firstName\n")).toThrow("no people");
  });
});
