/** The inbound data types, by the name connections use. */
import type { DataType } from "../domain/connection-rules.js";
import { actionModifications } from "./action-modifications.js";
import { catalog } from "./catalog.js";
import { clicks } from "./clicks.js";
import { conversions } from "./conversions.js";
import type { InboundType } from "./types.js";

const TYPES: Partial<Record<DataType, InboundType>> = {
  conversions,
  action_modifications: actionModifications,
  clicks,
  product_catalog: catalog,
};

export function inboundType(dataType: string): InboundType {
  const type = TYPES[dataType as DataType];
  if (!type) throw new Error(`${dataType} is not an inbound data type`);
  return type;
}
