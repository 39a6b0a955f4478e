import { describe, expect, it } from "vitest";
import {
  addElement, getIn, removeElement, replaceElement, scratch, setIn, updateElement, type FlowDocument,
} from "./document";
import { toGraph } from "./graph";

const cart: FlowDocument = {
  name: "Cart abandonment",
  entry: { type: "event", event: "CartAbandoned" },
  elements: [
    { id: "sms1", type: "send_sms", name: "Reminder SMS", from: "ShopCo", text: "Hi", next: "wait1" },
    { id: "wait1", type: "wait_for_event", event: "PurchaseFinished", timeout: "P1D", next: { event: "thanks", timeout: "email1" } },
    { id: "email1", type: "send_email", name: "Reminder email" },
    { id: "thanks", type: "update_profile", addTags: ["buyer"] },
  ],
};

describe("toGraph", () => {
  it("makes the entry and each element a node showing its name, else its type", () => {
    const g = toGraph(cart);
    const labels = Object.fromEntries(g.nodes.filter((n) => n.kind !== "exit").map((n) => [n.id, n.label]));
    expect(labels).toEqual({
      entry: "People real-time event",
      sms1: "Reminder SMS",
      wait1: "Wait for event",
      email1: "Reminder email",
      thanks: "Update profile",
    });
  });

  it("draws each link as an edge labelled by its outcome", () => {
    const g = toGraph(cart);
    const links = g.edges.filter((e) => !e.toExit).map((e) => [e.source, e.target, e.label ?? null]);
    expect(links).toEqual([
      ["entry", "sms1", null],
      ["sms1", "wait1", null],
      ["wait1", "thanks", "event"],
      ["wait1", "email1", "timeout"],
    ]);
  });

  it("draws an exit for every open end by itself", () => {
    const g = toGraph(cart);
    const exits = g.nodes.filter((n) => n.kind === "exit").map((n) => n.ariaLabel);
    expect(exits).toEqual(["Exit after Reminder email", "Exit after Update profile"]);
  });

  it("an open outcome of a wait for event is its own exit, with its slot", () => {
    const doc = updateElement(cart, "wait1", { next: { event: "thanks" } });
    const exit = toGraph(doc).nodes.find((n) => n.ariaLabel === "Exit after Wait for event, timeout");
    expect(exit?.slot).toEqual({ from: "wait1", outcome: "timeout" });
  });

  it("draws an exit element of the document as an exit, not a step", () => {
    const doc = updateElement(cart, "email1", { next: "exit1" });
    doc.elements!.push({ id: "exit1", type: "exit" });
    const exit = toGraph(doc).nodes.find((n) => n.id === "exit1");
    expect(exit).toMatchObject({ kind: "exit", label: "Exit", ariaLabel: "Exit exit1" });
    expect(exit?.slot).toBeUndefined();
  });

  it("lays nodes out top to bottom without overlaps", () => {
    const g = toGraph(cart);
    const y = Object.fromEntries(g.nodes.map((n) => [n.id, n.y]));
    expect(y.entry).toBeLessThan(y.sms1);
    expect(y.sms1).toBeLessThan(y.wait1);
    expect(y.wait1).toBeLessThan(y.email1);
    for (const a of g.nodes) for (const b of g.nodes) {
      if (a === b) continue;
      const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
      expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
    }
  });

  it("an empty flow is the entry and one exit", () => {
    const g = toGraph(scratch("api"));
    expect(g.nodes.map((n) => n.kind)).toEqual(["entry", "exit"]);
    expect(g.nodes[1].slot).toEqual({ from: "entry" });
  });
});

describe("editing", () => {
  it("builds the cart-abandonment chain by adding at open ends", () => {
    let doc = scratch("event");
    let sms: string, wait: string, email: string;
    [doc, sms] = addElement(doc, { from: "entry" }, "send_sms");
    [doc, wait] = addElement(doc, { from: sms }, "wait_for_event");
    [doc, email] = addElement(doc, { from: wait, outcome: "timeout" }, "send_email");
    expect([sms, wait, email]).toEqual(["sms1", "waitev1", "email1"]);
    expect(doc.elements).toEqual([
      { id: "sms1", type: "send_sms", next: "waitev1" },
      { id: "waitev1", type: "wait_for_event", next: { timeout: "email1" } },
      { id: "email1", type: "send_email" },
    ]);
  });

  it("adding on an edge inserts between the two ends", () => {
    const [doc, id] = addElement(cart, { from: "sms1" }, "wait");
    const els = Object.fromEntries(doc.elements!.map((e) => [e.id, e]));
    expect(els.sms1.next).toBe(id);
    expect(els[id].next).toBe("wait1");
  });

  it("adding right after the entry makes the new element the first", () => {
    const [doc, id] = addElement(cart, { from: "entry" }, "wait");
    expect(doc.elements![0]).toEqual({ id, type: "wait", next: "sms1" });
  });

  it("a new element with outcomes takes what followed on its first outcome", () => {
    const [doc, id] = addElement(cart, { from: "sms1" }, "wait_for_event");
    expect(doc.elements!.find((e) => e.id === id)!.next).toEqual({ event: "wait1" });
  });

  it("deleting keeps the chain: what led to it now leads where it led", () => {
    const doc = removeElement(cart, "sms1");
    expect(doc.elements!.map((e) => e.id)).toEqual(["wait1", "email1", "thanks"]);
    const doc2 = removeElement(cart, "email1");
    expect(doc2.elements!.find((e) => e.id === "wait1")!.next).toEqual({ event: "thanks" });
  });

  it("keeps the fields it does not know", () => {
    const doc = { ...cart, settings: { goal: { event: "PurchaseFinished" } } };
    const [added] = addElement(doc, { from: "thanks" }, "send_sms");
    expect(added.settings).toEqual({ goal: { event: "PurchaseFinished" } });
  });

  it("clearing a field removes it from the document", () => {
    const doc = updateElement(cart, "sms1", { from: "" });
    expect("from" in doc.elements![0]).toBe(false);
  });
});

describe("setIn", () => {
  it("sets a setting deep and prunes what is left empty", () => {
    let doc = setIn(cart, ["settings", "goal", "event"], "PurchaseFinished");
    expect(doc.settings).toEqual({ goal: { event: "PurchaseFinished" } });
    expect(getIn(doc, ["settings", "goal", "event"])).toBe("PurchaseFinished");
    doc = setIn(doc, ["settings", "goal", "event"], "");
    expect("settings" in doc).toBe(false);
    expect(doc.elements).toBe(cart.elements);
  });
});

describe("replaceElement", () => {
  it("puts a blank element of the new type in the old one's place, links and name kept", () => {
    const [doc, id] = replaceElement(cart, "sms1", "send_whatsapp");
    expect(id).toBe("whatsapp1");
    const els = doc.elements!;
    expect(els[0]).toEqual({ id: "whatsapp1", type: "send_whatsapp", name: "Reminder SMS", next: "wait1" });
    expect(els.map((e) => e.id)).toEqual(["whatsapp1", "wait1", "email1", "thanks"]);
    // the entry still leads to it (it is still the first element), and nothing names sms1
    expect(JSON.stringify(doc)).not.toContain("sms1");
  });

  it("repoints every link that led to the old element", () => {
    const [doc] = replaceElement(cart, "email1", "send_sms");
    const wait = doc.elements!.find((e) => e.id === "wait1")!;
    expect(wait.next).toEqual({ event: "thanks", timeout: "sms2" });
    expect(doc.elements!.find((e) => e.id === "sms2")).toEqual({ id: "sms2", type: "send_sms", name: "Reminder email" });
  });

  it("keeps outcomes whose names match, else hangs the first onward link on the first outcome", () => {
    const [same] = replaceElement(cart, "wait1", "wait_for_event");
    expect(same).toBe(cart); // the same type: nothing to replace
    const [seg, id] = replaceElement(cart, "wait1", "segment");
    expect(seg.elements!.find((e) => e.id === id)!.next).toEqual({ "Branch 1": "thanks" });
    const [plain, pid] = replaceElement(cart, "wait1", "wait");
    expect(plain.elements!.find((e) => e.id === pid)!.next).toBe("thanks");
  });

  it("an exit takes no onward link", () => {
    const [doc, id] = replaceElement(cart, "sms1", "exit");
    expect(doc.elements!.find((e) => e.id === id)).toEqual({ id: "exit1", type: "exit", name: "Reminder SMS" });
    expect(toGraph(doc).nodes.find((n) => n.id === id)?.kind).toBe("exit");
  });

  it("follows an entry that names its first element", () => {
    const named = { ...cart, entry: { ...cart.entry, next: "sms1" } };
    const [doc, id] = replaceElement(named, "sms1", "send_email");
    expect(doc.entry.next).toBe(id);
  });
});
