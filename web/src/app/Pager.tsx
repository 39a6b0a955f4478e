/** Previous/next paging of a list the API answers a page at a time (`limit`, `offset`,
 * `hasMore`), with the range on screen. */
export function Pager({
  offset,
  size,
  shown,
  hasMore,
  onChange,
}: {
  offset: number;
  size: number;
  shown: number;
  hasMore: boolean;
  onChange: (offset: number) => void;
}) {
  return (
    <div className="pager">
      <button type="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - size))}>
        Previous page
      </button>
      <span>{shown > 0 ? `${offset + 1}–${offset + shown}` : ""}</span>
      <button type="button" disabled={!hasMore} onClick={() => onChange(offset + size)}>
        Next page
      </button>
    </div>
  );
}
