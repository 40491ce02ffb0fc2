// Types shared by the risk room: what a tool looks like, and what the classifier says about it.

/** The MCP tool annotations (all optional; see the MCP specification for their defaults). */
export interface ToolAnnotations {
  title?: string;
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

/** A tool definition as found in a tools/list result. Only `name` is required here. */
export interface ToolDefinition {
  name: string;
  title?: string;
  description?: string;
  inputSchema?: JsonSchema;
  annotations?: ToolAnnotations;
}

/** The part of JSON Schema the classifier and the scaffold look at. */
export interface JsonSchema {
  type?: string | string[];
  description?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  items?: JsonSchema;
  [key: string]: unknown;
}

export const CATEGORIES = ['Read', 'Write', 'Execute', 'Destructive', 'Financial', 'Other'] as const;
export type Category = (typeof CATEGORIES)[number];

export const RISKS = ['Low', 'Medium', 'High', 'Critical'] as const;
export type Risk = (typeof RISKS)[number];

export interface Classification {
  category: Category;
  risk: Risk;
  /**
   * How sure the classifier is, 0 to 1 (0 for Other). Below 0.5 means the evidence was thin or
   * close between two classes: review the tool by hand.
   */
  confidence: number;
  /** Why, most important first. */
  reasons: string[];
}
