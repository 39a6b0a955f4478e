import { describe, expect, it } from "vitest";
import { canEmail, emailStatus, recipients } from "./email";

describe("emailing reports", () => {
  it("is offered only with a real email connection", () => {
    expect(canEmail(undefined)).toBe(false);
    expect(canEmail([{ provider: "sandbox", channels: ["email"] }])).toBe(false);
    expect(canEmail([{ provider: "twilio", channels: ["sms"] }])).toBe(false);
    expect(canEmail([{ provider: "infobip", channels: ["sms"] }])).toBe(false);
    expect(canEmail([{ provider: "infobip", channels: ["sms", "email"] }])).toBe(true);
    expect(canEmail([{ provider: "smtp", channels: ["email"] }])).toBe(true);
  });

  it("reads the addresses of the field once each", () => {
    expect(recipients("")).toEqual([]);
    expect(recipients(" a@x.io, b@y.io;c@z.io  A@X.io\n")).toEqual(["a@x.io", "b@y.io", "c@z.io"]);
  });

  it("says how the email went", () => {
    expect(emailStatus(null)).toBe("");
    expect(emailStatus({ to: ["a@x.io"], status: "pending" })).toBe("to a@x.io when ready");
    expect(emailStatus({ to: ["a@x.io", "b@y.io"], status: "sent" })).toBe("sent to a@x.io, b@y.io");
    expect(emailStatus({ to: ["a@x.io"], status: "failed", reason: "not sent to a@x.io: 550" })).toBe(
      "failed: not sent to a@x.io: 550",
    );
  });
});
