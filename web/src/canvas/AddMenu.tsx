import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { createPortal } from "react-dom";
import { ELEMENTS, FAMILIES } from "./catalogue";
import type { Slot } from "./document";

/** The "Add element" control: a button that opens a menu of element types, by their names. */
export function AddElement({
  slot,
  onAdd,
  where,
}: {
  slot: Slot;
  onAdd: (slot: Slot, type: string) => void;
  where: string;
}) {
  const [anchor, setAnchor] = useState<DOMRect | null>(null);
  const button = useRef<HTMLButtonElement>(null);
  return (
    <>
      <button
        ref={button}
        type="button"
        className="add nodrag nopan"
        aria-haspopup="menu"
        aria-expanded={anchor !== null}
        aria-label="Add element"
        title={`Add element ${where}`}
        onClick={(e) => {
          e.stopPropagation();
          setAnchor(anchor ? null : e.currentTarget.getBoundingClientRect());
        }}
      >
        +
      </button>
      {anchor && (
        <AddMenu
          anchor={anchor}
          where={where}
          onChoose={(type) => {
            setAnchor(null);
            onAdd(slot, type);
          }}
          onClose={() => {
            setAnchor(null);
            button.current?.focus();
          }}
        />
      )}
    </>
  );
}

function AddMenu({
  anchor,
  where,
  onChoose,
  onClose,
}: {
  anchor: DOMRect;
  where: string;
  onChoose: (type: string) => void;
  onClose: () => void;
}) {
  const menu = useRef<HTMLDivElement>(null);
  const [pos, setPos] = useState({ left: anchor.right + 8, top: anchor.top });
  useLayoutEffect(() => {
    const el = menu.current;
    if (!el) return;
    const h = el.offsetHeight;
    const w = el.offsetWidth;
    setPos({
      left: Math.min(anchor.right + 8, window.innerWidth - w - 8),
      top: Math.max(8, Math.min(anchor.top, window.innerHeight - h - 8)),
    });
    el.querySelector<HTMLButtonElement>("[role=menuitem]")?.focus();
  }, [anchor]);
  useEffect(() => {
    const away = (e: PointerEvent) => {
      if (!menu.current?.contains(e.target as Node)) onClose();
    };
    document.addEventListener("pointerdown", away, true);
    return () => document.removeEventListener("pointerdown", away, true);
  }, [onClose]);

  const move = (e: React.KeyboardEvent) => {
    const items = Array.from(menu.current?.querySelectorAll<HTMLButtonElement>("[role=menuitem]") ?? []);
    const i = items.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === "Escape") {
      e.preventDefault();
      onClose();
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      items[(i + 1) % items.length]?.focus();
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      items[(i - 1 + items.length) % items.length]?.focus();
    }
  };

  // In a portal: the canvas viewport is transformed, and a transformed ancestor would make
  // `position: fixed` relative to it instead of the window.
  return createPortal(
    <div
      ref={menu}
      role="menu"
      aria-label={`Add element ${where}`}
      className="add-menu nowheel"
      style={{ left: pos.left, top: pos.top }}
      onKeyDown={move}
    >
      {FAMILIES.map(([family, title]) => (
        <div key={family} role="group" aria-label={title}>
          <div className="menu-title" aria-hidden="true">
            {title}
          </div>
          {ELEMENTS.filter((e) => e.family === family).map((e) => (
            <button key={e.type} type="button" role="menuitem" onClick={() => onChoose(e.type)}>
              {e.label}
            </button>
          ))}
        </div>
      ))}
    </div>,
    document.body,
  );
}
