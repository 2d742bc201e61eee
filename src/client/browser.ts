/**
 * `imgpath/client/browser` (and `imgpath/client` under a bundler's `browser` condition): the
 * URL builder and the `POST /sign` helpers, without the signer. Nothing here imports node:.
 */
export {
  createImgpath,
  formatOptions,
  type ClientConfig,
  type ImageOptions,
  type ImgpathClient,
  type NextLoaderArgs,
  type Signer,
  type SrcsetOptions,
  type UrlExtras,
} from './url.js';
export {
  ImgpathRequestError,
  requestPolicyToken,
  requestSignedUrl,
  type Policy,
  type PolicyTokenRequest,
  type ServerCall,
  type SignedUrlRequest,
} from './server.js';
export { BadOptionError } from '../errors.js';
